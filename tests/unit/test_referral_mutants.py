"""The calendar month a referral limit counts in: the program's time zone decides."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from domain.program import ProgramSettings
from domain.referrals import month_start

SHANGHAI = ProgramSettings(timezone="Asia/Shanghai")


def test_the_month_starts_at_local_midnight_of_the_first():
    at = datetime(2026, 3, 17, 15, 45, 12, 999, tzinfo=UTC)
    start = month_start(at, SHANGHAI)
    assert start == datetime(2026, 3, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert (start.day, start.hour, start.minute, start.second, start.microsecond) == (
        1,
        0,
        0,
        0,
        0,
    )
    assert start.utcoffset().total_seconds() == 8 * 3600


def test_late_evening_utc_is_already_next_month_in_the_program_zone():
    at = datetime(2026, 2, 28, 20, 0, tzinfo=UTC)  # 1 March, 04:00 in Shanghai
    assert month_start(at, SHANGHAI) == datetime(2026, 3, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert month_start(at, ProgramSettings()) == datetime(2026, 2, 1, tzinfo=UTC)
