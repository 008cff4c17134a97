"""Tokens → syntax tree, by recursive descent (the grammar is in the package docstring)."""

from __future__ import annotations

from domain.segment_rules.lexer import KEYWORDS, T, Token, tokenize
from domain.segment_rules.syntax import And, Comparison, Expr, FieldRef, Literal, Not, Or
from domain.segment_rules.text import RuleError, RuleText, Span

MAX_RULE_LENGTH = 4000
MAX_DEPTH = 40
MAX_IN_VALUES = 1000

OPERATORS = ("=", "!=", "<", "<=", ">", ">=")


class _Parser:
    def __init__(self, text: RuleText, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.pos]

    def at(self, kind: T) -> bool:
        """Whether the current token is a `kind` (a call, so a check made before
        `advance()` is never taken to hold for the token after it)."""
        return self.token.kind is kind

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind is not T.EOF:
            self.pos += 1
        return token

    def fail(self, message: str, token: Token | None = None) -> RuleError:
        token = token or self.token
        return self.text.error(message, token.span)

    @staticmethod
    def describe(token: Token) -> str:
        return "the end of the rule" if token.kind is T.EOF else repr(token.text)

    def parse(self) -> Expr:
        if self.at(T.EOF):
            raise self.fail("The rule is empty: write a condition such as total_spent > 500 {at}")
        expr = self.or_expr()
        if not self.at(T.EOF):
            if self.at(T.RPAREN):
                raise self.fail("This ')' closes nothing {at}")
            raise self.fail(f"Expected AND or OR before {self.describe(self.token)} {{at}}")
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.token.is_keyword("OR"):
            self.advance()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Expr:
        items = [self.not_expr()]
        while self.token.is_keyword("AND"):
            self.advance()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"The rule nests deeper than {MAX_DEPTH} levels {{at}}")
        try:
            if self.token.is_keyword("NOT"):
                self.advance()
                return Not(self.not_expr())
            if self.at(T.LPAREN):
                opening = self.advance()
                expr = self.or_expr()
                if not self.at(T.RPAREN):
                    raise self.fail(
                        f"Expected ')' to close the '(' {self.text.where(opening.span)}, "
                        f"found {self.describe(self.token)} {{at}}"
                    )
                self.advance()
                return expr
            return self.comparison()
        finally:
            self.depth -= 1

    def comparison(self) -> Comparison:
        field = self.field()
        op_token = self.token
        if op_token.kind is T.OP:
            self.advance()
            value = self.value(f"after '{op_token.text}'")
            return Comparison(field, op_token.text, (value,), field.span)
        if op_token.is_keyword("IN"):
            self.advance()
            return Comparison(field, "IN", self.value_list(), field.span)
        if op_token.is_keyword("NOT") and self.tokens[self.pos + 1].is_keyword("IN"):
            self.advance()
            self.advance()
            return Comparison(field, "NOT IN", self.value_list(), field.span)
        raise self.fail(
            f"Expected a comparison (=, !=, <, <=, >, >=, IN) after {field.name}, "
            f"found {self.describe(op_token)} {{at}}"
        )

    def field(self) -> FieldRef:
        token = self.token
        if token.kind is not T.WORD or token.is_keyword(*KEYWORDS):
            raise self.fail(
                f"Expected a field such as total_spent or tag, found {self.describe(token)} {{at}}"
            )
        self.advance()
        name = token.text
        if self.at(T.DOT):
            self.advance()
            key = self.token
            if key.kind is not T.WORD:
                raise self.fail(f"Expected a key name after '{name}.' {{at}}")
            self.advance()
            return FieldRef(name, _join(token.span, key.span), key.text)
        if self.at(T.LBRACKET):
            self.advance()
            key = self.token
            if key.kind is not T.STRING:
                raise self.fail(f'Expected a quoted key {{at}}, like {name}["key"]')
            self.advance()
            if not self.at(T.RBRACKET):
                raise self.fail("Expected ']' {at}")
            end = self.advance()
            return FieldRef(name, _join(token.span, end.span), str(key.value))
        if self.at(T.LPAREN):
            self.advance()
            argument = self.token
            if argument.kind is not T.STRING:
                raise self.fail(f'Expected quoted text {{at}}, like {name}("shoes")')
            self.advance()
            if not self.at(T.RPAREN):
                raise self.fail(f"Expected ')' after the text given to {name} {{at}}")
            end = self.advance()
            return FieldRef(name, _join(token.span, end.span), str(argument.value))
        return FieldRef(name, token.span)

    def value(self, where: str) -> Literal:
        token = self.token
        if token.kind in (T.NUMBER, T.STRING, T.DATE, T.RELATIVE) or (
            token.kind is T.WORD and not token.is_keyword(*KEYWORDS)
        ):
            self.advance()
            return Literal(token.kind, token.text, token.value, token.span)
        raise self.fail(f"Expected a value {where}, found {self.describe(token)} {{at}}")

    def value_list(self) -> tuple[Literal, ...]:
        if not self.at(T.LPAREN):
            raise self.fail('Expected \'(\' after IN, like tag IN ("vip", "gold") {at}')
        opening = self.advance()
        values = [self.value("in the IN list")]
        while self.at(T.COMMA):
            self.advance()
            values.append(self.value("after ','"))
            if len(values) > MAX_IN_VALUES:
                raise self.fail(f"An IN list holds at most {MAX_IN_VALUES} values {{at}}")
        if not self.at(T.RPAREN):
            raise self.fail(
                f"Expected ',' or ')' in the IN list opened {self.text.where(opening.span)}, "
                f"found {self.describe(self.token)} {{at}}"
            )
        self.advance()
        return tuple(values)


def _join(first: Span, last: Span) -> Span:
    return Span(first.offset, first.line, first.column, last.offset + last.length - first.offset)


def parse(source: str) -> Expr:
    """The syntax tree of `source`, or a RuleError at the first syntax error."""
    if len(source) > MAX_RULE_LENGTH:
        raise RuleError(
            f"The rule is longer than {MAX_RULE_LENGTH} characters", Span(MAX_RULE_LENGTH, 1, 1)
        )
    text = RuleText(source)
    return _Parser(text, tokenize(source)).parse()
