"""CME trading sessions: a trading day starts at 17:00 America/Chicago."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CHICAGO = ZoneInfo("America/Chicago")
SESSION_START = time(17, 0)


def trade_date(now: datetime) -> date:
    """The CME trade date of an instant: evenings belong to the next business day."""
    local = now.astimezone(CHICAGO)
    d = local.date()
    if local.time() >= SESSION_START:
        d += timedelta(days=1)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


# --- CME Globex hours ----------------------------------------------------------------------------
# The futures we trade (CME Group equity index, energy, metals, rates, FX, on Globex) share one
# weekly shape: open Sunday 17:00 to Friday 16:00 America/Chicago, with a daily break from
# 16:00 to 17:00 Monday to Thursday. On the exchange's holidays trading stops early (12:00, or
# 12:15 on the day after Thanksgiving and on Christmas Eve) or does not happen at all (New
# Year's Day, Good Friday, Christmas Day), and opens again at 17:00 for the next trading day.
# Simplified where products differ by a quarter of an hour on holidays (docs/streams.md).

WEEKLY_CLOSE = time(16, 0)
HOLIDAY_CLOSE = time(12, 0)
HALF_DAY_CLOSE = time(12, 15)


def _observed(d: date) -> date:
    """A fixed-date holiday on a weekend is observed on the Friday before or Monday after."""
    if d.weekday() == 5:
        return d - timedelta(days=1)
    if d.weekday() == 6:
        return d + timedelta(days=1)
    return d


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based; -1 = last) `weekday` (0 = Monday) of a month."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month = (h + m - 7 * n + 114) // 31
    day = (h + m - 7 * n + 114) % 31 + 1
    return date(year, month, day)


def globex_closures(year: int) -> tuple[set[date], dict[date, time]]:
    """The year's days without trading, and the days trading stops early (with the time)."""
    closed = {
        _easter(year) - timedelta(days=2),  # Good Friday
        _observed(date(year, 12, 25)),
    }
    new_year = date(year, 1, 1)
    if new_year.weekday() != 5:  # on a Saturday it is not observed (the Friday trades)
        closed.add(_observed(new_year))
    thanksgiving = _nth_weekday(year, 11, 3, 4)
    early = {
        _nth_weekday(year, 1, 0, 3): HOLIDAY_CLOSE,  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3): HOLIDAY_CLOSE,  # Presidents Day
        _nth_weekday(year, 5, 0, -1): HOLIDAY_CLOSE,  # Memorial Day
        _observed(date(year, 6, 19)): HOLIDAY_CLOSE,  # Juneteenth
        _observed(date(year, 7, 4)): HOLIDAY_CLOSE,  # Independence Day
        _nth_weekday(year, 9, 0, 1): HOLIDAY_CLOSE,  # Labor Day
        thanksgiving: HOLIDAY_CLOSE,
        thanksgiving + timedelta(days=1): HALF_DAY_CLOSE,
    }
    eve = date(year, 12, 24)
    if eve.weekday() < 5 and eve not in closed:
        early[eve] = HALF_DAY_CLOSE
    return closed, early


def globex_open(now: datetime) -> bool:
    """Whether CME Globex is trading at `now` (any timezone-aware instant)."""
    local = now.astimezone(CHICAGO)
    day, clock = local.date(), local.time()
    weekday = day.weekday()
    if weekday == 5:  # Saturday
        return False
    tomorrow = day + timedelta(days=1)
    if weekday == 6:  # Sunday: opens at 17:00 (unless Monday is a day without trading)
        return clock >= SESSION_START and not _closed(tomorrow)
    if _closed(day) and clock < SESSION_START:
        return False
    if clock >= SESSION_START:  # the evening belongs to the next trading day
        return weekday != 4 and not _closed(tomorrow)  # no Friday evening session
    early = globex_closures(day.year)[1].get(day)
    return clock < (early or WEEKLY_CLOSE)


def _closed(d: date) -> bool:
    return d in globex_closures(d.year)[0]
