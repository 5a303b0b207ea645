"""Time-of-day windows of the trading settings (SPEC §5): 12 h and 24 h notation, across
midnight, in the owner's time zone. Pure."""

from __future__ import annotations

import re
from datetime import time

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_CLOCK_12H = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*([ap])\.?\s*m\.?$", re.IGNORECASE)
_CLOCK_24H = re.compile(r"^(\d{1,2}):(\d{2})(?::00)?$")


def parse_clock(text: str) -> str:
    """`"8:45 AM"` -> `"08:45"`, `"3:00 PM"` -> `"15:00"`, `"12:00 AM"` -> `"00:00"`,
    `"13:45"` -> `"13:45"`. Raises ValueError for anything else."""
    value = text.strip()
    if m := _CLOCK_12H.match(value):
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if not 1 <= hour <= 12:
            raise ValueError(f"{text!r}: a 12-hour time has an hour from 1 to 12")
        hour = hour % 12 + (12 if m.group(3).lower() == "p" else 0)
    elif m := _CLOCK_24H.match(value):
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour > 23:
            raise ValueError(f"{text!r}: a 24-hour time has an hour from 0 to 23")
    else:
        raise ValueError(f"{text!r} is not a time: write it as '8:45 AM' or '13:45'")
    if minute > 59:
        raise ValueError(f"{text!r}: minutes go from 00 to 59")
    return f"{hour:02d}:{minute:02d}"


class TimeWindow(BaseModel):
    """A time-of-day window in the owner's time zone; `start > stop` crosses midnight."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str = Field(description="Opens at, '8:45 AM' or '13:45'; stored as 24 h 'HH:MM'.")
    stop: str = Field(description="Closes at (exclusive); before start = crosses midnight.")
    enabled: bool = Field(default=True, description="A disabled window is ignored.")

    @field_validator("start", "stop", mode="before")
    @classmethod
    def _clock(cls, value: object) -> str:
        if not isinstance(value, str):
            raise ValueError("a time is a string such as '8:45 AM' or '13:45'")
        return parse_clock(value)

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if self.start == self.stop:
            raise ValueError(f"start and stop are both {self.start}: the window is empty")
        return self

    @property
    def crosses_midnight(self) -> bool:
        return self.start > self.stop

    def contains(self, moment: time) -> bool:
        """True when `moment` (local wall time) is in [start, stop), across midnight too."""
        now = f"{moment.hour:02d}:{moment.minute:02d}"
        if self.crosses_midnight:
            return now >= self.start or now < self.stop
        return self.start <= now < self.stop
