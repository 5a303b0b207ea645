"""An alert's overrides (SPEC §4) as a settings layer: `tp`, `sl`, `tp_dollars`, `trail`,
`breakeven`, ... become the RiskSettings fields they set. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from justtrades.execution.settings import Amount, RiskSettings

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
