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
