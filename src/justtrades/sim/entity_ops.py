"""Tradovate's generic entity operations: list, item, items, find, deps, ldeps, suggest.

Every entity type answers the same way; what a user sees is scoped to that user's accounts.
"""

from __future__ import annotations

from typing import Any

from justtrades.sim.entities import JSON
from justtrades.sim.exchange import Exchange

# entity type -> the field that names its master for `deps`
MASTER_FIELD = {
    "account": "userId",
    "position": "accountId",
    "order": "accountId",
    "orderStrategy": "accountId",
    "cashBalance": "accountId",
    "orderVersion": "orderId",
    "command": "orderId",
    "fill": "orderId",
    "fillPair": "positionId",
    "orderStrategyLink": "orderStrategyId",
    "contract": "contractMaturityId",
    "contractMaturity": "productId",
}
REFERENCE = ("product", "contractMaturity", "contract")
CANONICAL = {name.lower(): name for name in [*MASTER_FIELD, "user", "product"]}


class NotFound(Exception):
    pass


def _owner_account(ex: Exchange, kind: str, row: Any) -> int | None:
    """The account a row belongs to (None for reference data and users)."""
    if kind in ("position", "order", "orderStrategy", "cashBalance"):
        return int(row.accountId)
    if kind in ("orderVersion", "command", "fill"):
        return int(ex.tables["order"][row.orderId].accountId)
    if kind == "fillPair":
        return int(ex.tables["position"][row.positionId].accountId)
    if kind == "orderStrategyLink":
        return int(ex.tables["orderStrategy"][row.orderStrategyId].accountId)
    return None


def visible(ex: Exchange, kind: str, user_id: int) -> list[Any]:
    rows = list(ex.tables[kind].values())
    if kind in REFERENCE:
        return rows
    if kind == "user":
        return [u for u in rows if u.id == user_id]
    if kind == "account":
        return [a for a in rows if a.userId == user_id]
    mine = {a.id for a in ex.accounts_of(user_id)}
    return [r for r in rows if _owner_account(ex, kind, r) in mine]


def _ints(value: Any, name: str) -> list[int]:
    try:
        return [int(v) for v in str(value).split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{name} must be a number or a comma-separated list of numbers") from None


def generic(ex: Exchange, kind: str, op: str, params: dict[str, Any], user_id: int) -> Any:
    rows = visible(ex, kind, user_id)
    if op == "list":
        return [r.to_json() for r in rows]
    if op in ("item", "find"):
        key, want = ("id", _ints(params.get("id"), "id")) if op == "item" else ("name", None)
        for r in rows:
            if op == "item" and want and r.id == want[0]:
                return r.to_json()
            if op == "find" and getattr(r, key, None) == params.get("name"):
                return r.to_json()
        raise NotFound(f"{kind} not found")
    if op == "items":
        ids = set(_ints(params.get("ids", ""), "ids"))
        return [r.to_json() for r in rows if r.id in ids]
    if op in ("deps", "ldeps") and kind in MASTER_FIELD:
        field = MASTER_FIELD[kind]
        raw = params.get("masterid") if op == "deps" else params.get("masterids")
        masters = set(_ints(raw if raw is not None else "", "masterid"))
        return [r.to_json() for r in rows if getattr(r, field) in masters]
    if op == "suggest" and kind == "contract":
        text = str(params.get("t", "")).upper()
        limit = (_ints(params.get("l", 10), "l") or [10])[0]
        hits: list[JSON] = [r.to_json() for r in rows if r.name.startswith(text)]
        return hits[:limit]
    raise NotFound(f"{kind}/{op} is not an operation of this simulator")
