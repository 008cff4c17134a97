"""Where things are in a rule's text, and the errors that say so in a marketer's words."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """Where something is in the rule text: 0-based offset, 1-based line and column."""

    offset: int
    line: int
    column: int
    length: int = 1


class RuleError(Exception):
    """One problem in a rule, with where it is and a message that says it plainly."""

    def __init__(self, message: str, span: Span) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


class RuleErrors(Exception):
    """Every problem found in a rule (a syntax error stops at the first one)."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        super().__init__("; ".join(e.message for e in errors))


class RuleText:
    """The rule text, turning offsets into spans and spans into "at column 12"."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.single_line = "\n" not in text

    def span(self, offset: int, length: int = 1) -> Span:
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return Span(offset, line, column, max(length, 1))

    def where(self, span: Span) -> str:
        if self.single_line:
            return f"at column {span.column}"
        return f"at line {span.line}, column {span.column}"

    def error(self, message: str, span: Span) -> RuleError:
        """`message` may hold "{at}", replaced by the position."""
        at = self.where(span)
        text = message.replace("{at}", at) if "{at}" in message else f"{message} ({at})"
        return RuleError(text, span)
