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
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from justtrades.execution.windows import TimeWindow
from justtrades.instruments import UnknownInstrument, resolve

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
