"""The one instrument table: tick sizes, tick values, listed months, expiry and roll rules.

Shared by the product (signal resolution, planning) and the simulator. Pure: no I/O.

Symbols: a contract is root + month code + year (`NQH6`, `NQH26`, `NQH2026`); month codes are
never part of the root, and the longest known root is tried first (`SIL` before `SI`, `MGC`
before `GC`). A continuous symbol (`NQ1!`, `CME_MINI:NQ1!`, or a bare root `NQ`) resolves to the
front month: the first listed contract whose roll date (a fixed number of calendar days before
its last trading day) is still ahead. Exchange holidays are not modelled: a business day is
Monday to Friday.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

MONTH_CODES = "FGHJKMNQUVXZ"
QUARTERLY = "HMUZ"
ALL_MONTHS = MONTH_CODES


class UnknownInstrument(ValueError):
    """The symbol names no root in the instrument table, or cannot be read as a contract."""


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    root: str
    description: str
    tick_size: Decimal
    tick_value: Decimal  # dollars per tick per contract
    months: str  # listed (tradable) month codes
    expiry_rule: str
    roll_days: int  # calendar days before the last trading day that the front month rolls

    @property
    def point_value(self) -> Decimal:
        """Dollars per full price point per contract (Tradovate's `valuePerPoint`)."""
        return self.tick_value / self.tick_size


def _spec(
    root: str, desc: str, tick: str, value: str, months: str, rule: str, roll: int
) -> InstrumentSpec:
    return InstrumentSpec(root, desc, Decimal(tick), Decimal(value), months, rule, roll)


_TABLE = [
    _spec("ES", "E-mini S&P 500", "0.25", "12.50", QUARTERLY, "third_friday", 8),
    _spec("MES", "Micro E-mini S&P 500", "0.25", "1.25", QUARTERLY, "third_friday", 8),
    _spec("NQ", "E-mini Nasdaq-100", "0.25", "5.00", QUARTERLY, "third_friday", 8),
    _spec("MNQ", "Micro E-mini Nasdaq-100", "0.25", "0.50", QUARTERLY, "third_friday", 8),
    _spec("YM", "E-mini Dow ($5)", "1", "5.00", QUARTERLY, "third_friday", 8),
    _spec("MYM", "Micro E-mini Dow", "1", "0.50", QUARTERLY, "third_friday", 8),
    _spec("RTY", "E-mini Russell 2000", "0.1", "5.00", QUARTERLY, "third_friday", 8),
    _spec("M2K", "Micro E-mini Russell 2000", "0.1", "0.50", QUARTERLY, "third_friday", 8),
    _spec("CL", "Crude Oil WTI", "0.01", "10.00", ALL_MONTHS, "energy_25th", 5),
    _spec("MCL", "Micro WTI Crude Oil", "0.01", "1.00", ALL_MONTHS, "energy_25th_minus1", 5),
    _spec("NG", "Henry Hub Natural Gas", "0.001", "10.00", ALL_MONTHS, "energy_first", 5),
    _spec("GC", "Gold", "0.1", "10.00", "GJMQVZ", "metals", 33),
    _spec("MGC", "Micro Gold", "0.1", "1.00", "GJMQVZ", "metals", 33),
    _spec("SI", "Silver", "0.005", "25.00", "HKNUZ", "metals", 33),
    _spec("SIL", "Micro Silver", "0.005", "5.00", "HKNUZ", "metals", 33),
    _spec("HG", "Copper", "0.0005", "12.50", "HKNUZ", "metals", 33),
    _spec("ZB", "30-Year U.S. Treasury Bond", "0.03125", "31.25", QUARTERLY, "treasury", 25),
    _spec("ZN", "10-Year U.S. Treasury Note", "0.015625", "15.625", QUARTERLY, "treasury", 25),
    _spec("6E", "Euro FX", "0.00005", "6.25", QUARTERLY, "fx", 8),
]

INSTRUMENTS: dict[str, InstrumentSpec] = {s.root: s for s in _TABLE}
_ROOTS_LONGEST_FIRST = sorted(INSTRUMENTS, key=len, reverse=True)


@dataclass(frozen=True, slots=True)
class Contract:
    """One listed futures contract."""

    spec: InstrumentSpec
    month_code: str
    year: int

    @property
    def root(self) -> str:
        return self.spec.root

    @property
    def month(self) -> int:
        return MONTH_CODES.index(self.month_code) + 1

    @property
    def name(self) -> str:
        """Tradovate's name: root, month code, one-digit year (`MNQZ6`)."""
        return f"{self.spec.root}{self.month_code}{self.year % 10}"

    @property
    def last_trade_date(self) -> date:
        return last_trade_date(self.spec, self.year, self.month)

    @property
    def roll_date(self) -> date:
        return self.last_trade_date - timedelta(days=self.spec.roll_days)


def spec_for(root: str) -> InstrumentSpec:
    try:
        return INSTRUMENTS[root.upper()]
    except KeyError:
        raise UnknownInstrument(f"unknown instrument root {root!r}") from None


_CONTINUOUS = re.compile(r"^([A-Z0-9]+?)(?:[12]!)?$")
_DATED_TAIL = re.compile(r"^([FGHJKMNQUVXZ])(\d{1,4})$")


def resolve(symbol: str, today: date) -> Contract:
    """Read a TradingView or Tradovate symbol as one listed contract.

    `NQ1!`, `CME_MINI:NQ1!` and `NQ` give the front month on `today`, `NQ2!` the next one;
    `NQH6`, `NQH26` and
    `NQH2026` give that contract. Raises UnknownInstrument for anything else.
    """
    text = symbol.strip().upper()
    if ":" in text:
        text = text.rsplit(":", 1)[1]
    if not text:
        raise UnknownInstrument("empty symbol")
    continuous = text.endswith("!")
    nth = 1
    if continuous:
        if len(text) > 2 and text[-2] in "12":
            nth = int(text[-2])
            text = text[:-2]
        else:
            text = text[:-1]
    for root in _ROOTS_LONGEST_FIRST:
        if not text.startswith(root):
            continue
        tail = text[len(root) :]
        spec = INSTRUMENTS[root]
        if tail == "":
            return listed_contracts(spec, today, nth)[nth - 1]
        m = _DATED_TAIL.match(tail)
        if m and not continuous:
            code = m.group(1)
            if code not in spec.months:
                raise UnknownInstrument(f"{root} does not list month {code} ({symbol!r})")
            return Contract(spec, code, _full_year(m.group(2), today))
    raise UnknownInstrument(f"unknown instrument {symbol!r}")


def _full_year(digits: str, today: date) -> int:
    if len(digits) == 4:
        return int(digits)
    if len(digits) == 2:
        return 2000 + int(digits)
    if len(digits) == 1:
        d = int(digits)
        # The nearest year with that last digit that is not more than a year in the past.
        return next(y for y in range(today.year - 1, today.year + 9) if y % 10 == d)
    raise UnknownInstrument(f"cannot read year {digits!r}")


def front_month(spec: InstrumentSpec, today: date) -> Contract:
    """The first listed contract whose roll date has not yet come."""
    for contract in listed_contracts(spec, today, count=1):
        return contract
    raise UnknownInstrument(f"no listed contract for {spec.root}")  # pragma: no cover


def listed_contracts(spec: InstrumentSpec, today: date, count: int) -> list[Contract]:
    """`count` contracts from the front month on, in expiry order."""
    found: list[Contract] = []
    year, month = today.year, today.month
    for _ in range(48):
        code = MONTH_CODES[month - 1]
        if code in spec.months:
            contract = Contract(spec, code, year)
            if today < contract.roll_date:
                found.append(contract)
                if len(found) == count:
                    break
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return found


# --- last trading days -------------------------------------------------------------------------


def _is_business_day(d: date) -> bool:
    return d.weekday() < 5


def _business_days_before(d: date, n: int) -> date:
    while n > 0:
        d -= timedelta(days=1)
        if _is_business_day(d):
            n -= 1
    return d


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (n - 1))


def _last_business_day(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return _business_days_before(nxt, 1)


def _previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def last_trade_date(spec: InstrumentSpec, year: int, month: int) -> date:
    rule = spec.expiry_rule
    if rule == "third_friday":
        return _nth_weekday(year, month, 4, 3)
    if rule == "fx":  # two business days before the third Wednesday
        return _business_days_before(_nth_weekday(year, month, 2, 3), 2)
    if rule in ("energy_25th", "energy_25th_minus1"):
        py, pm = _previous_month(year, month)
        d25 = date(py, pm, 25)
        base = d25 if _is_business_day(d25) else _business_days_before(d25, 1)
        cl = _business_days_before(base, 3)
        return cl if rule == "energy_25th" else _business_days_before(cl, 1)
    if rule == "energy_first":  # three business days before the first day of the month
        return _business_days_before(date(year, month, 1), 3)
    if rule == "metals":  # third-last business day of the contract month
        return _business_days_before(_last_business_day(year, month), 2)
    if rule == "treasury":  # seventh business day before the last business day of the month
        return _business_days_before(_last_business_day(year, month), 7)
    raise ValueError(f"unknown expiry rule {rule!r}")  # pragma: no cover


# --- tick arithmetic -----------------------------------------------------------------------------


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """A float as the decimal it was written as (`21000.1` -> Decimal('21000.1'))."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def price_to_ticks(price: Decimal, tick_size: Decimal) -> int:
    """The nearest whole number of ticks (half a tick rounds away from zero)."""
    return int((price / tick_size).to_integral_value(rounding=ROUND_HALF_UP))


def ticks_to_price(ticks: int, tick_size: Decimal) -> Decimal:
    return tick_size * ticks


def round_to_tick(price: Decimal, tick_size: Decimal) -> Decimal:
    return ticks_to_price(price_to_ticks(price, tick_size), tick_size)


MAX_PRICE = Decimal(10) ** 9  # no futures price comes near; bounds every price we accept


MAX_DECIMALS = 10  # the finest tick (6E, 0.00005) has 5


def in_price_range(value: Decimal) -> bool:
    """Finite, below MAX_PRICE in size and with at most MAX_DECIMALS decimal places; checked
    on the digits, without arithmetic (which could overflow or round a tiny value to 0)."""
    if not value.is_finite():
        return False
    if value.is_zero():
        return True
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    places = -exponent
    for digit in reversed(digits):  # 21000.2500 has 2 decimal places, not 4
        if digit != 0 or places <= 0:
            break
        places -= 1
    return value.adjusted() < 9 and places <= MAX_DECIMALS


def is_on_tick(price: Decimal, tick_size: Decimal) -> bool:
    """True for a price in range that is a whole number of ticks."""
    if not in_price_range(price):
        return False
    return (price / tick_size) == (price / tick_size).to_integral_value()
