"""Rule text → tokens: numbers, quoted text, dates, relative instants, words, operators."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from domain.segment_rules.bounds import bounded_date, bounded_delta, bounded_number
from domain.segment_rules.text import RuleText, Span


class T(StrEnum):
    NUMBER = "number"
    STRING = "string"
    DATE = "date"
    RELATIVE = "relative"
    WORD = "word"
    OP = "operator"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    DOT = "."
    LBRACKET = "["
    RBRACKET = "]"
    EOF = "end of the rule"


@dataclass(frozen=True)
class Token:
    kind: T
    text: str
    span: Span
    value: object = None

    def is_keyword(self, *words: str) -> bool:
        return self.kind is T.WORD and self.text.upper() in words


KEYWORDS = ("AND", "OR", "NOT", "IN")
RELATIVE_UNITS = {"d": "days", "h": "hours", "w": "weeks"}
ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}

_SCANNER = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\w-]))
  | (?P<measure>[-+]?\d+(?:\.\d+)?[^\W\d]\w*)
  | (?P<number>[-+]?\d+(?:\.\d+)?(?![\w.]))
  | (?P<word>[^\W\d]\w*)
  | (?P<op><=|>=|!=|<>|==|=|<|>)
  | (?P<punct>[(),.\[\]])
  | (?P<quote>["'])
    """,
    re.VERBOSE,
)
_PUNCT = {
    "(": T.LPAREN,
    ")": T.RPAREN,
    ",": T.COMMA,
    ".": T.DOT,
    "[": T.LBRACKET,
    "]": T.RBRACKET,
}


def tokenize(source: str) -> list[Token]:
    text = RuleText(source)
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        match = _SCANNER.match(source, pos)
        if match is None:
            raise text.error(f"Unexpected character {source[pos]!r} {{at}}", text.span(pos))
        kind = match.lastgroup
        raw = match.group()
        span = text.span(pos, len(raw))
        if kind == "ws":
            pass
        elif kind == "date":
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                raise text.error(f"{raw} is not a calendar date {{at}}", span) from None
            tokens.append(Token(T.DATE, raw, span, bounded_date(text, day, span)))
        elif kind == "measure":
            tokens.append(_relative(text, raw, span))
        elif kind == "number":
            tokens.append(Token(T.NUMBER, raw, span, bounded_number(text, Decimal(raw), span)))
        elif kind == "word":
            tokens.append(Token(T.WORD, raw, span))
        elif kind == "op":
            tokens.append(Token(T.OP, "=" if raw == "==" else "!=" if raw == "<>" else raw, span))
        elif kind == "punct":
            tokens.append(Token(_PUNCT[raw], raw, span))
        else:  # a quote opens a string
            end, value = _string(text, pos)
            tokens.append(Token(T.STRING, source[pos:end], text.span(pos, end - pos), value))
            pos = end
            continue
        pos = match.end()
    tokens.append(Token(T.EOF, "", text.span(len(source), 1)))
    return tokens


def _relative(text: RuleText, raw: str, span: Span) -> Token:
    match = re.fullmatch(r"([-+]?)(\d+(?:\.\d+)?)(\w+)", raw)
    assert match is not None
    sign, amount, unit = match.groups()
    if unit not in RELATIVE_UNITS:
        raise text.error(
            f"Unknown unit {unit!r} in {raw} {{at}}; write days as d, hours as h, weeks as w "
            "(for example -30d)",
            span,
        )
    if "." in amount:
        raise text.error(f"Use a whole number in {raw} {{at}}", span)
    if not sign:
        raise text.error(
            f"Write -{raw} for {amount} {RELATIVE_UNITS[unit]} before the as-of date {{at}}", span
        )
    delta = bounded_delta(text, RELATIVE_UNITS[unit], int(amount), span)
    return Token(T.RELATIVE, raw, span, -delta if sign == "-" else delta)


def _string(text: RuleText, start: int) -> tuple[int, str]:
    source = text.text
    quote = source[start]
    out: list[str] = []
    pos = start + 1
    while pos < len(source):
        ch = source[pos]
        if ch == quote:
            return pos + 1, "".join(out)
        if ch == "\\":
            if pos + 1 >= len(source):
                break
            escaped = source[pos + 1]
            if escaped not in ESCAPES:
                raise text.error(
                    f"Unknown escape \\{escaped} in text {{at}}; use \\\" \\' \\\\ \\n or \\t",
                    text.span(pos, 2),
                )
            out.append(ESCAPES[escaped])
            pos += 2
            continue
        out.append(ch)
        pos += 1
    raise text.error(
        f"The text opened {{at}} is never closed: add a closing {quote}", text.span(start)
    )
