"""Quiet hours and the frequency cap: the rules that hold a marketing message back.

Quiet hours are a window of local times in the program time zone, "21:00-09:00"
(crossing midnight) or "12:00-14:00"; the start is inside, the end is not. A
marketing message due inside waits until the window's end (QUIET_HOURS_DELAYED),
it is never dropped. The frequency cap counts the customer's marketing messages
SENT in the last `message_cap_days` days, over every channel; at the cap a message
is skipped (CAPPED), since sending it later would only crowd the next window.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.messaging.templates import TemplateChannel
from domain.program import ProgramSettings, parse_quiet_hours

QUIET_SETTING = {
    TemplateChannel.SMS: "sms_quiet_hours",
    TemplateChannel.EMAIL: "email_quiet_hours",
    TemplateChannel.WECHAT: "wechat_quiet_hours",
    TemplateChannel.WEBHOOK: "webhook_quiet_hours",
}
RATE_SETTING = {
    TemplateChannel.SMS: "sms_rate_per_minute",
    TemplateChannel.EMAIL: "email_rate_per_minute",
    TemplateChannel.WECHAT: "wechat_rate_per_minute",
    TemplateChannel.WEBHOOK: "webhook_rate_per_minute",
}
RATE_WINDOW = timedelta(minutes=1)


def quiet_until(window: str | None, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The end of the quiet hours `now` falls in (UTC), or None when it falls in none."""
    if not window:
        return None
    start, end = parse_quiet_hours(window)
    local = now.astimezone(zone)
    moment = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= moment < end
        end_day = local.date()
    else:
        inside = moment >= start or moment < end
        end_day = local.date() + timedelta(days=1) if moment >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)


def channel_quiet_until(
    program: ProgramSettings, channel: TemplateChannel, now: datetime
) -> datetime | None:
    return quiet_until(getattr(program, QUIET_SETTING[channel]), program.zone, now)


def channel_rate(program: ProgramSettings, channel: TemplateChannel) -> int | None:
    rate: int | None = getattr(program, RATE_SETTING[channel])
    return rate


def cap_window_start(program: ProgramSettings, now: datetime) -> datetime:
    return now - timedelta(days=program.message_cap_days)
