"""Trading settings: the one definition, how layers combine, and the sizing they imply. Pure.

`RiskSettings` is the only place a setting is defined (SPEC §5). The API schemas, the database
(JSON from `model_dump(mode="json", exclude_none=True)`) and the planner all use it. Every field
is optional: `None` means "not set, inherit"; 0, False, "" and [] are real values.

Effective settings for one trader = `DEFAULTS`, then the strategy, then the trader's overrides,
then the alert's overrides (`effective_settings`). `merge` walks the model's fields, so no
setting can be forgotten on the way to an account (SPEC §13).

Errors: a bad value raises pydantic's `ValidationError` (a `ValueError`) naming the field;
a refused combination raises `SettingsConflict` (also a `ValueError`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from justtrades.instruments import InstrumentSpec, UnknownInstrument, resolve

MAX_CONTRACTS = 100_000  # bound on any contract count a setting holds
MAX_AMOUNT = Decimal(10) ** 9  # bound on any tick/point/dollar/percent amount
MAX_COUNT = 1_000_000  # bound on signal counters
MAX_COOLDOWN_SECS = 7 * 24 * 3600
MAX_TP_LEGS = 10
MAX_TIME_WINDOWS = 2


class SettingsConflict(ValueError):
    """Two settings that are each valid but refused together (SPEC §5)."""


def _normalise_choice(value: object) -> object:
    """`"Ticks"` -> `"ticks"`, `"Long Only"` -> `"long_only"`, `"Trail"` -> `"trailing"`."""
    if not isinstance(value, str):
        return value
    text = re.sub(r"[\s\-]+", "_", value.strip().lower())
    return "trailing" if text == "trail" else text


def _check_ticker(value: str) -> str:
    if not value:
        return value  # "" = trade the alert's symbol
    try:
        resolve(value, date(2000, 1, 1))  # any date: only the symbol's shape and root matter
    except UnknownInstrument as exc:
        raise ValueError(str(exc)) from None
    return value


AmountUnits = Literal["ticks", "points", "dollars", "percent"]
TrimUnits = Literal["contracts", "percent"]
SlType = Literal["fixed", "trailing"]
OppositeSignal = Literal["reverse", "close", "ignore"]
DirectionFilter = Literal["both", "long_only", "short_only"]

_Units = Annotated[AmountUnits, BeforeValidator(_normalise_choice)]
_TrimUnits = Annotated[TrimUnits, BeforeValidator(_normalise_choice)]
_SlType = Annotated[SlType, BeforeValidator(_normalise_choice)]
_Opposite = Annotated[OppositeSignal, BeforeValidator(_normalise_choice)]
_Direction = Annotated[DirectionFilter, BeforeValidator(_normalise_choice)]
Contracts = Annotated[int, Field(ge=0, le=MAX_CONTRACTS)]
Amount = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT)]
Ticker = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, max_length=32),
    AfterValidator(_check_ticker),
]


# --- time windows ----------------------------------------------------------------------------

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


# --- take-profit legs ----------------------------------------------------------------------------


class TpTarget(BaseModel):
    """One take-profit leg: `ticks` is the distance in `tp_units` (ticks, points, dollars or
    percent, despite its name); `trim` the leg's size in `trim_units`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ticks: Amount = Field(description="Take-profit distance, in tp_units.")
    trim: Annotated[Decimal, Field(gt=0, le=100)] = Field(
        description="Leg size in trim_units: contracts (times the multiplier) or percent."
    )


# --- the settings ----------------------------------------------------------------------------


class RiskSettings(BaseModel):
    """Every trading setting of a strategy, a trader or an alert. `None` = not set (inherit)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool | None = Field(
        default=None, description="Strategy: accepts signals; trader: trades them."
    )
    initial_position_size: Contracts | None = Field(
        default=None, description="Contracts on a first entry (before the multiplier)."
    )
    add_position_size: Contracts | None = Field(
        default=None, description="Contracts on a DCA add (before the multiplier)."
    )
    max_contracts_per_trade: Contracts | None = Field(
        default=None, description="Cap on the contracts of one signal; 0 = no cap."
    )
    max_contracts: Contracts | None = Field(
        default=None,
        description="Cap per entry and on the whole position after an add; 0 = no cap.",
    )
    tp_targets: Annotated[list[TpTarget], Field(max_length=MAX_TP_LEGS)] | None = Field(
        default=None,
        description='Take-profit legs, [{"ticks": 20, "trim": 1}, ...]; [] = no take profit; '
        "one leg with trim 100 % closes all at TP. The last leg takes what remains.",
    )
    tp_units: _Units | None = Field(
        default=None,
        description="Unit of tp_targets' distances: ticks, points (price points), dollars "
        "(per contract, via tick value) or percent (of entry price).",
    )
    sl_units: _Units | None = Field(
        default=None, description="Unit of sl_amount: ticks, points, dollars or percent."
    )
    trim_units: _TrimUnits | None = Field(
        default=None, description="How tp_targets' trims are read: contracts or percent."
    )
    sl_enabled: bool | None = Field(default=None, description="Place a stop loss.")
    sl_amount: Amount | None = Field(default=None, description="Stop distance, in sl_units.")
    sl_type: _SlType | None = Field(default=None, description="Stop type: fixed or trailing.")
    trail_trigger: Amount | None = Field(
        default=None, description="Ticks of profit before the stop starts to trail (0 = at once)."
    )
    trail_freq: Amount | None = Field(default=None, description="Ticks per trailing step.")
    break_even_enabled: bool | None = Field(
        default=None, description="Move the stop to break even after break_even_ticks of profit."
    )
    break_even_ticks: Amount | None = Field(
        default=None, description="Ticks of profit that move the stop to entry +/- offset."
    )
    break_even_offset: Amount | None = Field(
        default=None, description="Ticks past entry (on the profit side) the stop moves to."
    )
    dca_enabled: bool | None = Field(
        default=None, description="Same-direction signals add to the position."
    )
    opposite_signal: _Opposite | None = Field(
        default=None,
        description="On an opposite-side signal: reverse (close, then enter the other way), "
        "close (close only) or ignore. Default reverse when DCA is off, ignore when it is on.",
    )
    same_direction_ignore: bool | None = Field(
        default=None,
        description="Skip a same-side signal while a position is open (refused with DCA on).",
    )
    direction_filter: _Direction | None = Field(
        default=None, description="Entries allowed: both, long_only or short_only."
    )
    inverse_signals: bool | None = Field(
        default=None, description="Swap buy and sell; a close stays a close."
    )
    custom_ticker: Ticker | None = Field(
        default=None,
        description="Trade this symbol instead of the alert's (alert MNQ, trade ES); "
        '"" = the alert\'s symbol.',
    )
    every_nth_signal: Annotated[int, Field(ge=1, le=MAX_COUNT)] | None = Field(
        default=None, description="Act on every Nth entry signal only (1 = every one)."
    )
    signal_cooldown_secs: Annotated[Decimal, Field(ge=0, le=MAX_COOLDOWN_SECS)] | None = Field(
        default=None, description="Minimum seconds between two entries acted on."
    )
    max_signals_per_session: Annotated[int, Field(ge=0, le=MAX_COUNT)] | None = Field(
        default=None, description="Entries acted on per trading session; 0 = no cap."
    )
    max_daily_loss: Amount | None = Field(
        default=None,
        description="Dollars; when the session's realized + open P&L reaches -limit, no new "
        "entries. 0 = off.",
    )
    time_filters: Annotated[list[TimeWindow], Field(max_length=MAX_TIME_WINDOWS)] | None = Field(
        default=None,
        description="Up to two windows in the owner's time zone; an entry passes if inside any "
        "enabled window. [] = no time filter.",
    )
    auto_flat_after_cutoff: bool | None = Field(
        default=None,
        description="After the last window closes: block entries and flatten open positions.",
    )


class EffectiveSettings(BaseModel):
    """The settings one trader trades with: every field of RiskSettings resolved, plus the
    trader's multiplier. Built by `effective_settings`; see RiskSettings for each meaning."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool
    initial_position_size: Contracts
    add_position_size: Contracts
    max_contracts_per_trade: Contracts
    max_contracts: Contracts
    tp_targets: Annotated[list[TpTarget], Field(max_length=MAX_TP_LEGS)]
    tp_units: AmountUnits
    sl_units: AmountUnits
    trim_units: TrimUnits
    sl_enabled: bool
    sl_amount: Amount
    sl_type: SlType
    trail_trigger: Amount
    trail_freq: Amount
    break_even_enabled: bool
    break_even_ticks: Amount
    break_even_offset: Amount
    dca_enabled: bool
    opposite_signal: OppositeSignal
    same_direction_ignore: bool
    direction_filter: DirectionFilter
    inverse_signals: bool
    custom_ticker: Ticker
    every_nth_signal: Annotated[int, Field(ge=1)]
    signal_cooldown_secs: Annotated[Decimal, Field(ge=0)]
    max_signals_per_session: Annotated[int, Field(ge=0)]
    max_daily_loss: Amount
    time_filters: Annotated[list[TimeWindow], Field(max_length=MAX_TIME_WINDOWS)]
    auto_flat_after_cutoff: bool
    multiplier: Annotated[Decimal, Field(gt=0)]


SETTING_NAMES: tuple[str, ...] = tuple(RiskSettings.model_fields)

# The value of every setting nobody set. opposite_signal is left out: its default depends on
# dca_enabled (SPEC §5), see effective_settings.
_DEFAULT_VALUES: dict[str, Any] = {
    "enabled": True,
    "initial_position_size": 1,
    "add_position_size": 1,
    "max_contracts_per_trade": 0,
    "max_contracts": 0,
    "tp_targets": [],
    "tp_units": "ticks",
    "sl_units": "ticks",
    "trim_units": "contracts",
    "sl_enabled": False,
    "sl_amount": 0,
    "sl_type": "fixed",
    "trail_trigger": 0,
    "trail_freq": 1,
    "break_even_enabled": False,
    "break_even_ticks": 0,
    "break_even_offset": 0,
    "dca_enabled": False,
    "same_direction_ignore": False,
    "direction_filter": "both",
    "inverse_signals": False,
    "custom_ticker": "",
    "every_nth_signal": 1,
    "signal_cooldown_secs": 0,
    "max_signals_per_session": 0,
    "max_daily_loss": 0,
    "time_filters": [],
    "auto_flat_after_cutoff": False,
}
DEFAULTS = RiskSettings.model_validate(_DEFAULT_VALUES)


def merge(*layers: RiskSettings) -> RiskSettings:
    """Later layers win for every field they set (not None); 0, False and [] win too."""
    values: dict[str, Any] = {}
    for layer in layers:
        for name in RiskSettings.model_fields:
            value = getattr(layer, name)
            if value is not None:
                values[name] = value
    return RiskSettings.model_validate(values)


def check_combination(settings: RiskSettings | EffectiveSettings) -> None:
    """Raise SettingsConflict for a refused combination (one layer, or merged settings)."""
    if settings.same_direction_ignore is True and settings.dca_enabled is True:
        raise SettingsConflict(
            "same_direction_ignore and dca_enabled cannot both be on: DCA adds on a "
            "same-side signal, same_direction_ignore skips it"
        )


def effective_settings(
    strategy: RiskSettings, trader: RiskSettings, alert: RiskSettings, multiplier: Decimal
) -> EffectiveSettings:
    """DEFAULTS < strategy < trader < alert, for one trader. Raises SettingsConflict for a
    refused combination and ValueError for a multiplier that is not > 0."""
    merged = merge(DEFAULTS, strategy, trader, alert)
    check_combination(merged)
    values = merged.model_dump()
    if values["opposite_signal"] is None:
        values["opposite_signal"] = "ignore" if merged.dca_enabled else "reverse"
    values["multiplier"] = multiplier
    return EffectiveSettings.model_validate(values)


# --- alert overrides -----------------------------------------------------------------------------

_AMOUNT: TypeAdapter[Decimal] = TypeAdapter(Amount)
_FLAG: TypeAdapter[bool] = TypeAdapter(bool)


def _alert_value(fields: Mapping[str, object], *keys: str) -> tuple[str, object] | None:
    """The first key whose value is present and not blank (SPEC §4: first non-empty wins)."""
    for key in keys:
        value = fields.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        return key, value
    return None


def _parse(adapter: TypeAdapter[Any], key: str, value: object) -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise ValueError(f"{key}: {exc.errors()[0]['msg']} (got {value!r})") from None


def alert_layer(fields: Mapping[str, object]) -> RiskSettings:
    """The settings an alert overrides (SPEC §4); other keys (risk_dollars, ...) are ignored.

    tp_ticks/tp and tp_dollars: one TP for the whole position (trim 100 %); 0 = no TP.
    sl_ticks/sl and sl_dollars: the stop distance; 0 = no stop. trail: trailing or fixed stop.
    trail_trigger, trail_freq: as named. breakeven, breakeven_offset: break_even_enabled and
    break_even_offset. A missing, None or blank key is not set. Raises ValueError for a bad value
    or for both a ticks and a dollars amount.
    """
    out: dict[str, Any] = {}
    for kind in ("tp", "sl"):
        in_ticks = _alert_value(fields, f"{kind}_ticks", kind)
        in_dollars = _alert_value(fields, f"{kind}_dollars")
        if in_ticks and in_dollars:
            raise ValueError(f"give {in_ticks[0]} or {in_dollars[0]}, not both")
        given, units = (in_ticks, "ticks") if in_ticks else (in_dollars, "dollars")
        if given is None:
            continue
        amount: Decimal = _parse(_AMOUNT, *given)
        if kind == "tp":
            out["tp_targets"] = [{"ticks": amount, "trim": 100}] if amount > 0 else []
            out["tp_units"] = units
            out["trim_units"] = "percent"
        else:
            out["sl_enabled"] = amount > 0
            out["sl_amount"] = amount
            out["sl_units"] = units
    if trail := _alert_value(fields, "trail"):
        out["sl_type"] = "trailing" if _parse(_FLAG, *trail) else "fixed"
    for key, name in (
        ("trail_trigger", "trail_trigger"),
        ("trail_freq", "trail_freq"),
        ("breakeven_offset", "break_even_offset"),
    ):
        if given := _alert_value(fields, key):
            out[name] = _parse(_AMOUNT, *given)
    if breakeven := _alert_value(fields, "breakeven"):
        out["break_even_enabled"] = _parse(_FLAG, *breakeven)
    return RiskSettings.model_validate(out)


# --- distances and leg sizes ---------------------------------------------------------------------


def _round_half_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def distance_ticks(
    amount: Decimal, units: str, spec: InstrumentSpec, entry_price: Decimal | None
) -> int:
    """A TP/SL amount in `units` as a whole number of ticks (half a tick rounds up; at least
    one tick when amount > 0).

    ticks: the amount; points: amount / tick_size; dollars (per contract): amount / tick_value;
    percent: entry_price x amount / 100, in ticks (entry_price required).
    """
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"a distance is a finite amount >= 0, got {amount}")
    if units not in ("ticks", "points", "dollars", "percent"):
        raise ValueError(f"unknown units {units!r}: ticks, points, dollars or percent")
    if amount == 0:
        return 0
    if units == "ticks":
        raw = amount
    elif units == "points":
        raw = amount / spec.tick_size
    elif units == "dollars":
        raw = amount / spec.tick_value
    else:  # percent
        if entry_price is None or not entry_price.is_finite() or entry_price <= 0:
            raise ValueError("a percent distance needs the entry price")
        raw = entry_price * amount / 100 / spec.tick_size
    return max(1, _round_half_up(raw))


def price_distance(
    amount: Decimal, units: str, spec: InstrumentSpec, entry_price: Decimal | None
) -> Decimal:
    """The same distance in price points, on the instrument's tick grid.

    MNQ (tick 0.25, $0.50): 20 ticks -> 5.00; 5 points -> 5.00; $10 -> 20 ticks -> 5.00;
    0.1 % of 20000 -> 20.00. ES ($12.50): $30 -> 2.4 ticks -> 2 ticks -> 0.50.
    """
    return spec.tick_size * distance_ticks(amount, units, spec, entry_price)


def tp_leg_quantities(
    total: int, targets: Sequence[TpTarget], trim_units: str, multiplier: Decimal
) -> list[int]:
    """Contracts per take-profit leg for a position of `total` (SPEC §6).

    Contracts mode: `min(max(1, round(trim x multiplier)), remaining)`; percent mode:
    `max(1, round(total x trim / 100))` capped at the remaining quantity (the multiplier is
    already in `total`). The last leg takes what remains; rounding is half up. Legs never sum
    past the position: once it is used up, the later legs get 0 and are dropped, so the result
    is a prefix of `targets` (result[i] belongs to targets[i]) and sums to `total` when
    `targets` is not empty.

    >>> c = lambda *trims: [TpTarget(ticks=Decimal(10), trim=Decimal(t)) for t in trims]
    >>> tp_leg_quantities(3, c(1, 1, 1), "contracts", Decimal(1))
    [1, 1, 1]
    >>> tp_leg_quantities(15, c(1, 1, 1), "contracts", Decimal(5))  # not 1, 1, 13
    [5, 5, 5]
    >>> tp_leg_quantities(2, c(50, 50), "percent", Decimal(1))
    [1, 1]
    >>> tp_leg_quantities(7, c(100), "percent", Decimal(1))
    [7]
    >>> tp_leg_quantities(2, c(1, 1, 1), "contracts", Decimal(1))  # third leg dropped
    [1, 1]
    """
    if total < 0:
        raise ValueError(f"position size must be >= 0, got {total}")
    if trim_units not in ("contracts", "percent"):
        raise ValueError(f"unknown trim_units {trim_units!r}: contracts or percent")
    if not multiplier.is_finite() or multiplier <= 0:
        raise ValueError(f"multiplier must be > 0, got {multiplier}")
    sizes: list[int] = []
    remaining = total
    for i, target in enumerate(targets):
        if remaining <= 0:
            break
        if i == len(targets) - 1:
            qty = remaining
        elif trim_units == "contracts":
            qty = max(1, _round_half_up(target.trim * multiplier))
        else:
            qty = max(1, _round_half_up(total * target.trim / 100))
        qty = min(qty, remaining)
        sizes.append(qty)
        remaining -= qty
    return sizes
