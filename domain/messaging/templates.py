"""Message templates: what a channel sends, written in a Jinja2 sandbox.

Why the sandbox and StrictUndefined: a template is written by an operator in an
admin tool and rendered by the worker with customer data; the sandbox refuses
attribute tricks that reach Python internals, and StrictUndefined turns a missing
variable into an error instead of an empty gap in a message a customer reads.

A template may use only the variables in `VARIABLES`; one that names anything else
is refused when saved, with the field path of the text at fault (``("body",)``,
``("fields", "thing1")``, ``("parameters", "0")``). Per channel:

- EMAIL: `subject`, `body` (the text part) and optionally `html_body` (the HTML
  part, autoescaped).
- WECHAT: `provider_template_id` (the subscribe-message template id), `page` (the
  mini-program page opened from the message) and `fields`: the template's data keys
  (``thing1``, ``time2``…) each with the text that fills it; `body` is a summary
  kept for previews and the webhook channel.
- SMS: `provider_template_id` (the approved Tencent Cloud template) and
  `parameters`: the texts of its {1}, {2}… in order; `body` is the summary.
- WEBHOOK: `subject` (optional) and `body`, posted with the message to the brand's
  own sender.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from jinja2 import (
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
    meta,
    nodes,
)
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.fields import optional_text, required_text
from domain.unit_of_work import Port

MAX_NAME = 200
MAX_SUBJECT = 500
MAX_BODY = 20_000
MAX_PROVIDER_ID = 128
MAX_PAGE = 500
MAX_FIELDS = 20
MAX_FIELD_KEY = 32
MAX_FIELD_TEXT = 500


class TemplateChannel(StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"
    WECHAT = "WECHAT"
    WEBHOOK = "WEBHOOK"


VARIABLES: dict[str, str] = {
    "name": "the customer's name (empty when unknown)",
    "external_id": "the customer's externalId",
    "points_balance": "the available points balance",
    "tier": "the current tier's name (empty without a tier)",
    "unsubscribe_url": "a signed link that opts the customer out of this channel",
    "coupon_code": "from the message: the coupon's code",
    "coupon_expires_at": "from the message: when the coupon ends",
    "coupon_name": "from the message: the coupon template's name",
    "reward_name": "from the message: a reward's name",
    "link": "from the message: a link (a store page, a campaign landing page)",
    "points": "from the message: a number of points (earned, expiring…)",
    "expires_at": "from the message: when something (points…) expires",
    "journey_name": "from the message: the journey that sent it",
}
"""Every variable a template may use. The first five come from the customer and
the program; the rest from the message (`OutboundMessage.variables`): a message
that lacks one its template uses fails on that template (FAILED, then fallback)."""

CUSTOMER_VARIABLES = frozenset({"name", "external_id", "points_balance", "tier", "unsubscribe_url"})

PREVIEW_VALUES: dict[str, str] = {
    "coupon_code": "SAMPLE-COUPON",
    "coupon_expires_at": "2026-12-31",
    "coupon_name": "满100减20",
    "reward_name": "Sample reward",
    "link": "https://example.com/",
    "points": "100",
    "expires_at": "2026-12-31",
    "journey_name": "Sample journey",
}
"""What `messagePreview` fills the message's own variables with."""

SAMPLE_VALUES: dict[str, str] = {
    **PREVIEW_VALUES,
    "name": "Sample",
    "external_id": "sample-1",
    "points_balance": "100",
    "tier": "Gold",
    "unsubscribe_url": "https://example.com/unsubscribe",
}
"""Every variable with a sample value, for the trial render at save."""

# What a template may hold: a message is text, variables, conditions and filters. No
# loops, `set`, macros, calls or attribute access, and only filters that cannot
# multiply their input, so a rendered text is at most about its template's length
# times a variable's, and no template can make the API (its trial render at save) or
# the worker (at send) spin or fill memory: before, `{{ "x" * 100000000 }}` saved after
# a 1.3 s, 400 MB trial render, and two nested loops over `range(100000)` never ended.
# The operators that could still multiply (`"x" * n`, `"%9999999s" % x`, `9 ** 99999`)
# are refused on such operands when they run (`_Bounded.call_binop`).
_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.If,
    nodes.CondExpr,
    nodes.Filter,
    nodes.Test,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Neg,
    nodes.Pos,
    nodes.Concat,
    nodes.Add,
    nodes.Sub,
    nodes.Mul,
    nodes.Div,
    nodes.FloorDiv,
    nodes.Mod,
    nodes.Pow,
    nodes.Getitem,
    nodes.Slice,
    nodes.Keyword,
    nodes.List,
    nodes.Tuple,
)
FILTERS = frozenset(
    {
        "abs",
        "capitalize",
        "count",
        "d",
        "default",
        "e",
        "escape",
        "first",
        "float",
        "int",
        "last",
        "length",
        "lower",
        "round",
        "string",
        "striptags",
        "title",
        "trim",
        "truncate",
        "upper",
        "urlencode",
    }
)
"""The filters a template may use; the others can multiply a text (`center`, `indent`,
`replace`, `join`, `format`, `wordwrap`) or undo escaping (`safe`)."""
TESTS = frozenset(
    {
        "defined",
        "undefined",
        "none",
        "number",
        "string",
        "true",
        "false",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "in",
        "lower",
        "upper",
        "odd",
        "even",
        "divisibleby",
    }
)
_NAMED = {
    nodes.For: "loops ({% for %})",
    nodes.Assign: "{% set %}",
    nodes.AssignBlock: "{% set %}",
    nodes.Macro: "macros",
    nodes.CallBlock: "{% call %}",
    nodes.FilterBlock: "{% filter %}",
    nodes.Call: "calls (f() or x.method())",
    nodes.Getattr: "attributes (x.y)",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}",
    nodes.Extends: "{% extends %}",
    nodes.Block: "{% block %}",
    nodes.With: "{% with %}",
    nodes.Scope: "{% with %}",
}


def _refused_part(parsed: nodes.Template) -> str | None:
    """What in the parsed template is not allowed (see `_NODES`), or None."""
    for node in parsed.find_all(nodes.Node):
        if not isinstance(node, _NODES):
            return _NAMED.get(type(node), type(node).__name__)
        if isinstance(node, nodes.Filter) and node.name not in FILTERS:
            return f"the filter {node.name}"
        if isinstance(node, nodes.Test) and node.name not in TESTS:
            return f"the test {node.name}"
    return None


class _Bounded(ImmutableSandboxedEnvironment):
    """The sandbox, with the operators that repeat or format a text, or raise a
    number to a power, refused on operands that would make a huge result."""

    intercepted_binops = frozenset({"*", "%", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
        if operator in ("*", "%") and not numbers:
            raise SecurityError(f"{operator!r} may only be used on numbers in a template")
        if (operator == "*" and _product_too_big(left, right)) or (
            operator == "**" and (not numbers or _power_too_big(left, right))
        ):
            raise SecurityError(
                f"{operator!r} may only make numbers of up to {MAX_BITS:,} bits in a template"
            )
        return super().call_binop(context, operator, left, right)


MAX_BITS = 4096  # a chain of products of such numbers stays fast; larger ones do not


def _product_too_big(left: float, right: float) -> bool:
    if isinstance(left, float) or isinstance(right, float):
        return False  # a float overflows to inf, it does not grow
    return int(left).bit_length() + int(right).bit_length() > MAX_BITS


def _power_too_big(base: float, power: float) -> bool:
    if isinstance(base, float) or isinstance(power, float):
        return abs(power) > MAX_BITS  # a float overflows (OverflowError) before it grows
    return abs(base) > 1 and int(base).bit_length() * abs(int(power)) > MAX_BITS


_environment = _Bounded(undefined=StrictUndefined, autoescape=False)
_html_environment = _Bounded(undefined=StrictUndefined, autoescape=True)


def _compiled(text: str, *, html: bool) -> tuple[nodes.Template, Template]:
    """The text parsed and compiled; SecurityError names a part not allowed."""
    environment = _html_environment if html else _environment
    parsed = environment.parse(text)
    refused = _refused_part(parsed)
    if refused is not None:
        raise SecurityError(f"a message template may not use {refused}")
    return parsed, environment.from_string(parsed)


@dataclass(frozen=True)
class MessageTemplate:
    name: str
    channel: TemplateChannel
    body: str
    created_at: datetime
    updated_at: datetime
    subject: str | None = None
    html_body: str | None = None
    provider_template_id: str | None = None
    page: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    """WeChat: data key → text."""
    parameters: tuple[str, ...] = ()
    """SMS: the template's parameters in order."""
    archived_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class TemplateFields:
    """Input of create and update: None leaves a field as it is (on update)."""

    name: str | None = None
    channel: TemplateChannel | None = None
    subject: str | None = None
    body: str | None = None
    html_body: str | None = None
    provider_template_id: str | None = None
    page: str | None = None
    fields: Mapping[str, str] | None = None
    parameters: Sequence[str] | None = None


@dataclass(frozen=True)
class Rendered:
    channel: TemplateChannel
    body: str
    subject: str | None = None
    html_body: str | None = None
    provider_template_id: str | None = None
    page: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    parameters: tuple[str, ...] = ()


class RenderError(Exception):
    """A template could not be rendered with these variables (one missing…)."""


def check_text(text: str, path: Sequence[str], *, html: bool = False) -> None:
    """Refuses a text that does not parse, uses what a template may not (see `_NODES`)
    or names a variable not in VARIABLES."""
    try:
        parsed, compiled = _compiled(text, html=html)
    except TemplateSyntaxError as exc:
        raise DomainError(
            ErrorCode.INVALID, path, f"Not a valid template (line {exc.lineno}): {exc.message}"
        ) from None
    except SecurityError as exc:
        raise DomainError(
            ErrorCode.INVALID,
            path,
            f"{str(exc).capitalize()}: variables, {{% if %}}, operators and the filters "
            f"{', '.join(sorted(FILTERS))}.",
        ) from None
    unknown = sorted(meta.find_undeclared_variables(parsed) - VARIABLES.keys())
    if unknown:
        raise DomainError(
            ErrorCode.INVALID,
            path,
            f"Unknown variable(s) {', '.join(unknown)}; a template may use "
            f"{', '.join(sorted(VARIABLES))}.",
        )
    # A trial render with sample values: what the sandbox refuses (reaching into
    # Python internals, a text multiplied) or what cannot work on text values fails
    # here, at save.
    try:
        compiled.render(**SAMPLE_VALUES)
    except SecurityError as exc:
        raise DomainError(
            ErrorCode.INVALID,
            path,
            f"The template reaches for something the sandbox refuses: {exc}",
        ) from None
    except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise DomainError(
            ErrorCode.INVALID, path, f"The template fails with sample values: {exc}"
        ) from None


def _checked(template: MessageTemplate, errors: ErrorCollector) -> MessageTemplate:
    def text(value: str | None, path: tuple[str, ...], limit: int, *, required: bool) -> str | None:
        try:
            if required:
                checked: str | None = required_text(value, path, max_length=limit, multiline=True)
            else:
                checked = optional_text(value, path, max_length=limit, multiline=True)
            if checked is not None:
                check_text(checked, path, html=path == ("html_body",))
            return checked
        except DomainError as exc:
            errors.capture(exc)
            return value

    channel = template.channel
    name = None
    try:
        name = required_text(template.name, ("name",), max_length=MAX_NAME)
    except DomainError as exc:
        errors.capture(exc)
    body = text(template.body, ("body",), MAX_BODY, required=True) or ""
    subject = text(template.subject, ("subject",), MAX_SUBJECT, required=channel == "EMAIL")
    html_body = text(template.html_body, ("html_body",), MAX_BODY, required=False)
    provider_id = template.provider_template_id
    page = template.page
    fields_: dict[str, str] = {}
    parameters: list[str] = []
    if channel in (TemplateChannel.WECHAT, TemplateChannel.SMS):
        try:
            provider_id = required_text(
                provider_id, ("provider_template_id",), max_length=MAX_PROVIDER_ID
            )
        except DomainError as exc:
            errors.capture(exc)
    elif provider_id:
        errors.add(
            ErrorCode.INVALID,
            ("provider_template_id",),
            "Only WECHAT and SMS templates name a provider's template.",
        )
    if channel is TemplateChannel.WECHAT:
        page = text(page, ("page",), MAX_PAGE, required=False)
        if not template.fields:
            errors.add(ErrorCode.REQUIRED, ("fields",), "Map the template's data keys.")
        if len(template.fields) > MAX_FIELDS:
            errors.add(ErrorCode.TOO_MANY, ("fields",), f"At most {MAX_FIELDS} data keys.")
        for key, value in template.fields.items():
            if not key.isidentifier() or len(key) > MAX_FIELD_KEY:
                errors.add(ErrorCode.INVALID, ("fields", key), "Not a data key (e.g. thing1).")
                continue
            fields_[key] = text(value, ("fields", key), MAX_FIELD_TEXT, required=True) or ""
    elif template.fields:
        errors.add(ErrorCode.INVALID, ("fields",), "Only WECHAT templates have data fields.")
    elif page:
        errors.add(ErrorCode.INVALID, ("page",), "Only WECHAT templates open a page.")
    if channel is TemplateChannel.SMS:
        if len(template.parameters) > MAX_FIELDS:
            errors.add(ErrorCode.TOO_MANY, ("parameters",), f"At most {MAX_FIELDS} parameters.")
        for index, value in enumerate(template.parameters):
            path = ("parameters", str(index))
            parameters.append(text(value, path, MAX_FIELD_TEXT, required=True) or "")
    elif template.parameters:
        errors.add(ErrorCode.INVALID, ("parameters",), "Only SMS templates have parameters.")
    if html_body and channel is not TemplateChannel.EMAIL:
        errors.add(ErrorCode.INVALID, ("html_body",), "Only EMAIL templates have an HTML part.")
    return replace(
        template,
        name=name or template.name,
        body=body,
        subject=subject,
        html_body=html_body,
        provider_template_id=provider_id,
        page=page,
        fields=fields_,
        parameters=tuple(parameters),
    )


def apply_fields(
    current: MessageTemplate | None, given: TemplateFields, now: datetime
) -> MessageTemplate:
    """A new or changed template, checked whole (every problem at once)."""
    errors = ErrorCollector()
    if current is None:
        if given.channel is None:
            errors.add(ErrorCode.REQUIRED, ("channel",), "Name the channel.")
        errors.raise_if_any()
        current = MessageTemplate(
            name="",
            channel=TemplateChannel(str(given.channel)),
            body="",
            created_at=now,
            updated_at=now,
        )
    elif given.channel is not None and given.channel != current.channel:
        raise DomainError(ErrorCode.READ_ONLY, ("channel",), "A template's channel cannot change.")
    changes: dict[str, Any] = {
        name: getattr(given, name)
        for name in ("name", "subject", "body", "html_body", "provider_template_id", "page")
        if getattr(given, name) is not None
    }
    if given.fields is not None:
        changes["fields"] = dict(given.fields)
    if given.parameters is not None:
        changes["parameters"] = tuple(given.parameters)
    template = _checked(replace(current, **changes, updated_at=now), errors)
    errors.raise_if_any()
    return template


def render(template: MessageTemplate, variables: Mapping[str, str]) -> Rendered:
    """The template filled in; RenderError names what went wrong."""

    def one(text: str | None, *, html: bool = False) -> str | None:
        if text is None:
            return None
        try:
            return _compiled(text, html=html)[1].render(**variables)
        except UndefinedError as exc:
            raise RenderError(f"template {template.id}: {exc.message}") from None
        except (SecurityError, TemplateError, TypeError, ValueError, ArithmeticError) as exc:
            raise RenderError(f"template {template.id}: {exc}") from None

    return Rendered(
        channel=template.channel,
        body=one(template.body) or "",
        subject=one(template.subject),
        html_body=one(template.html_body, html=True),
        provider_template_id=template.provider_template_id,
        page=one(template.page),
        fields={key: one(text) or "" for key, text in template.fields.items()},
        parameters=tuple(one(text) or "" for text in template.parameters),
    )


class TemplateRepository(Protocol):
    async def add(self, template: MessageTemplate) -> MessageTemplate: ...
    async def get(
        self, template_id: int, *, for_update: bool = False
    ) -> MessageTemplate | None: ...
    async def save(self, template: MessageTemplate) -> None: ...
    async def many(self, template_ids: Sequence[int]) -> dict[int, MessageTemplate]: ...


TEMPLATES: Port[TemplateRepository] = Port("message_templates")
