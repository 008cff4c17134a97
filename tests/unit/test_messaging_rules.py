"""Messaging rules without a database: quiet hours, template checks and rendering,
unsubscribe tokens, the TC3 signature's shape, the e-mail's headers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidInput
from domain.messaging.channels import Outgoing, Recipient
from domain.messaging.email_channel import EmailChannel
from domain.messaging.pressure import quiet_until
from domain.messaging.sms_channel import tc3_headers
from domain.messaging.templates import (
    RenderError,
    TemplateChannel,
    TemplateFields,
    apply_fields,
    render,
)
from domain.messaging.unsubscribe import UnsubscribeLinks
from domain.program import ProgramSettings, apply_changes

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, tzinfo=UTC)


def local(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("window", "at", "until"),
    [
        ("21:00-09:00", local(20, 59), None),
        ("21:00-09:00", local(21, 0), local(9, 0, day=3)),
        ("21:00-09:00", local(0, 0), local(9, 0)),
        ("21:00-09:00", local(8, 59), local(9, 0)),
        ("21:00-09:00", local(9, 0), None),
        ("12:00-14:00", local(11, 59), None),
        ("12:00-14:00", local(12, 0), local(14, 0)),
        ("12:00-14:00", local(14, 0), None),
        (None, local(23, 0), None),
    ],
)
def test_quiet_hours_start_inside_end_outside(
    window: str | None, at: datetime, until: datetime | None
) -> None:
    assert quiet_until(window, SHANGHAI, at) == until


@pytest.mark.parametrize("bad", ["21:00", "21:00-21:00", "9:00-10:00", "25:00-09:00", "x-y"])
def test_quiet_hours_settings_are_refused_unless_two_times(bad: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        apply_changes(ProgramSettings(), {"sms_quiet_hours": bad})
    assert [e.field for e in refused.value.errors] == [("sms_quiet_hours",)]


def test_quiet_hours_settings_are_normalised_and_may_be_cleared() -> None:
    changed = apply_changes(ProgramSettings(), {"sms_quiet_hours": " 21:00 - 09:00 "})
    assert changed.sms_quiet_hours == "21:00-09:00"
    assert apply_changes(changed, {"sms_quiet_hours": None}).sms_quiet_hours is None
    with pytest.raises(InvalidInput):
        apply_changes(ProgramSettings(), {"message_cap_days": None})


def template(**fields: object):  # noqa: ANN201
    given = {"name": "t", "channel": TemplateChannel.WEBHOOK, "body": "hi", **fields}
    return apply_fields(None, TemplateFields(**given), NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "body",
    [
        "{{ name.__class__.__mro__ }}",
        "{{ ''.__class__ }}",
        "{{ points_balance + 1 }}",
    ],
)
def test_a_template_the_sandbox_or_text_values_refuse_is_refused_at_save(body: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        template(body=body)
    assert [e.field for e in refused.value.errors] == [("body",)]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        # Each of these cost the API seconds and hundreds of MB at its trial render, or
        # never ended; each is now refused before or while it renders, at once.
        ('{{ "x" * 100000000 }}', "'*' may only be used on numbers"),
        ("{{ name * 1000000 }}", "'*' may only be used on numbers"),
        ('{{ "%999999999s" % name }}', "'%' may only be used on numbers"),
        ("{{ ((10 ** 64) ** 64) ** 64 }}", "up to 4,096 bits"),
        ("{{ " + " * ".join(["2 ** 4000"] * 3) + " }}", "up to 4,096 bits"),
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "may not use loops",
        ),
        ("{% set x = name ~ name %}{{ x }}", "may not use {% set %}"),
        ("{{ name|center(999999999) }}", "may not use the filter center"),
        ('{{ name|replace("", "xxxxxxxxxx")|replace("", "xxxxxxxxxx") }}', "the filter replace"),
        ("{{ name.center(999999999) }}", "may not use calls"),
        ("{{ '{:>999999999}'.format(name) }}", "may not use calls"),
        ("{{ name|safe }}", "the filter safe"),
        ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "may not use macros"),
    ],
)
def test_a_template_that_could_multiply_its_text_is_refused_at_save(body: str, says: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        template(body=body)
    [error] = refused.value.errors
    assert error.field == ("body",) and says in error.message


def test_a_message_template_keeps_conditions_filters_and_arithmetic() -> None:
    body = (
        "Hi {{ name|default('friend', true)|title }}, "
        "{% if points|int > 50 %}you earned {{ points }} ({{ (points|int) * 2 }} in double "
        "week){% elif points is defined %}thanks{% else %}-{% endif %}: "
        "{{ coupon_code|lower|truncate(9, leeway=0) }} {{ 2 ** 10 }}"
    )
    saved = template(body=body)
    shown = render(saved, {"name": "ann lee", "points": "60", "coupon_code": "SPRING-2026-X"})
    assert shown.body == "Hi Ann Lee, you earned 60 (120 in double week): spring... 1024"
    assert render(saved, {"name": "", "points": "5", "coupon_code": "A"}).body == (
        "Hi Friend, thanks: a 1024"
    )


def test_a_template_saved_before_the_limits_fails_at_render_not_the_worker() -> None:
    """A text stored earlier is compiled through the same checks when it renders."""
    saved = replace(template(body="hi"), body="{% for c in name %}{{ c }}{% endfor %}")
    with pytest.raises(RenderError, match="may not use loops"):
        render(saved, {"name": "ann"})


def test_rendering_fails_on_a_variable_the_message_lacks() -> None:
    saved = template(body="{{ coupon_code }}")
    assert render(saved, {"coupon_code": "A1"}).body == "A1"
    with pytest.raises(RenderError, match="coupon_code"):
        render(saved, {})


def test_unsubscribe_tokens_name_one_customer_and_channel() -> None:
    links = UnsubscribeLinks("key", "https://shop.example")
    token = links.token(42, TemplateChannel.SMS)
    assert links.verify(token) == (42, TemplateChannel.SMS)
    assert links.verify(token.replace("42.", "43.", 1)) is None
    assert links.verify(token.replace(".SMS.", ".EMAIL.")) is None
    assert UnsubscribeLinks("other key", "https://shop.example").verify(token) is None
    assert links.url(42, TemplateChannel.SMS).startswith(
        "https://shop.example/messaging/unsubscribe?token=42.SMS."
    )


def test_tc3_headers_have_tencents_shape() -> None:
    headers = tc3_headers(
        secret_id="AKID",
        secret_key="key",
        host="sms.tencentcloudapi.com",
        body=b"{}",
        timestamp=1_772_409_600,  # 2026-03-02 00:00 UTC
        region="ap-guangzhou",
    )
    authorization = headers["Authorization"]
    assert authorization.startswith(
        "TC3-HMAC-SHA256 Credential=AKID/2026-03-02/sms/tc3_request, "
        "SignedHeaders=content-type;host;x-tc-action, Signature="
    )
    assert len(authorization.rsplit("=", 1)[1]) == 64
    assert headers["X-TC-Action"] == "SendSms" and headers["X-TC-Version"] == "2021-01-11"


def test_the_email_has_both_parts_and_one_click_unsubscribe() -> None:
    saved = apply_fields(
        None,
        TemplateFields(
            name="e",
            channel=TemplateChannel.EMAIL,
            subject="Hi {{ name }}",
            body="text {{ name }}",
            html_body="<b>{{ name }}</b>",
        ),
        NOW,
    )
    recipient = Recipient(1, "c-1", "Ann & Bob", "ann@example.com", None, 0, None)
    outgoing = Outgoing(
        7, recipient, "ann@example.com", render(saved, {"name": "Ann & Bob"}), "https://u"
    )
    mail = EmailChannel(transport=None, sender="shop@example.com").build(outgoing)  # type: ignore[arg-type]
    assert mail["List-Unsubscribe"] == "<https://u>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    parts = {p.get_content_type(): p.get_content() for p in mail.walk() if not p.is_multipart()}
    assert parts["text/plain"].strip() == "text Ann & Bob"
    assert parts["text/html"].strip() == "<b>Ann &amp; Bob</b>"
