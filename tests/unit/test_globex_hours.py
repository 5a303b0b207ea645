"""CME Globex hours (sessions.globex_open): the weekly shape, the daily break, holidays,
early closes and daylight saving, at instants whose answer is known."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from justtrades.sessions import CHICAGO, _easter, globex_closures, globex_open


def ct(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CHICAGO)


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        (ct(2026, 12, 6, 16, 59), False),  # Sunday before the open
        (ct(2026, 12, 6, 17, 0), True),  # Sunday 17:00: the week opens
        (ct(2026, 12, 7, 15, 59), True),  # Monday
        (ct(2026, 12, 7, 16, 0), False),  # the daily break
        (ct(2026, 12, 7, 16, 59), False),
        (ct(2026, 12, 7, 17, 0), True),  # the evening: Tuesday's session
        (ct(2026, 12, 11, 15, 59), True),  # Friday
        (ct(2026, 12, 11, 16, 0), False),  # the weekend close
        (ct(2026, 12, 11, 20, 0), False),  # no Friday evening session
        (ct(2026, 12, 12, 12, 0), False),  # Saturday
        (ct(2026, 11, 26, 11, 59), True),  # Thanksgiving: open in the morning
        (ct(2026, 11, 26, 12, 0), False),  # halted at 12:00
        (ct(2026, 11, 26, 17, 0), True),  # open again for Friday
        (ct(2026, 11, 27, 12, 14), True),  # the day after: closes at 12:15
        (ct(2026, 11, 27, 12, 15), False),
        (ct(2026, 12, 24, 12, 15), False),  # Christmas Eve (Thursday): 12:15
        (ct(2026, 12, 24, 17, 0), False),  # no session for Christmas Day
        (ct(2026, 12, 25, 10, 0), False),
        (ct(2026, 12, 27, 17, 0), True),  # Sunday: the week opens
        (ct(2026, 12, 31, 17, 0), False),  # New Year's Eve evening: New Year's Day is closed
        (ct(2027, 1, 3, 17, 0), True),
        (ct(2027, 3, 25, 15, 0), True),  # the Thursday before Good Friday
        (ct(2027, 3, 25, 17, 0), False),  # no session for Good Friday
        (ct(2027, 3, 26, 10, 0), False),
        (ct(2027, 3, 28, 17, 0), True),  # Easter Sunday evening
        (ct(2027, 1, 18, 11, 0), True),  # Martin Luther King Jr. Day: until 12:00
        (ct(2027, 1, 18, 13, 0), False),
        (ct(2027, 7, 4, 17, 0), True),  # July 4th on a Sunday: the evening opens as usual
        (ct(2027, 7, 5, 12, 30), False),  # observed on Monday: halted at 12:00
    ],
)
def test_known_instants(when: datetime, is_open: bool) -> None:
    assert globex_open(when) is is_open
    assert globex_open(when.astimezone(UTC)) is is_open  # any timezone


def test_daylight_saving_moves_the_open_with_chicago() -> None:
    # Sunday 2027-03-14, the first day of daylight saving: 17:00 CT is 22:00 UTC, not 23:00
    assert globex_open(datetime(2027, 3, 14, 22, 0, tzinfo=UTC))
    assert not globex_open(datetime(2027, 3, 14, 21, 59, tzinfo=UTC))
    # and in winter 17:00 CT is 23:00 UTC
    assert not globex_open(datetime(2026, 12, 6, 22, 30, tzinfo=UTC))


def test_the_movable_holidays() -> None:
    assert _easter(2026).isoformat() == "2026-04-05" and _easter(2027).isoformat() == "2027-03-28"
    closed, early = globex_closures(2027)
    assert {d.isoformat() for d in closed} == {"2027-01-01", "2027-03-26", "2027-12-24"}
    assert "2027-05-31" in {d.isoformat() for d in early}  # Memorial Day, the last Monday
    assert "2027-11-26" in {d.isoformat() for d in early}  # the day after Thanksgiving
