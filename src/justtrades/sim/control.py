"""The simulator's control API, for tests, demos and benchmarks: move prices, inject faults,
read the whole state, reset. Not part of Tradovate's surface and never subject to faults."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Body, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from justtrades.sim.entities import JSON
from justtrades.sim.exchange import Rejected
from justtrades.sim.faults import Faults
from justtrades.sim.server import SimState


class PriceMove(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: str = Field(min_length=1, examples=["MNQZ6"])
    price: Decimal = Field(gt=0, lt=10**9, examples=[21000.25])


class Walk(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: str = Field(min_length=1)
    steps: int = Field(1, ge=1, le=100_000)
    max_step_ticks: int = Field(4, ge=1, le=1000)


def control_router(state: SimState) -> APIRouter:
    """Every handler is `async`: it runs on the loop the exchange runs on, never in a thread
    beside it (a state read racing an order changed a dict under its iteration)."""
    router = APIRouter(prefix="/_sim", tags=["simulator control"])
    ex = state.exchange

    def contract_name(symbol: str) -> str:
        try:
            return ex.contract(symbol).name
        except Rejected:
            raise HTTPException(404, f"no listed contract for {symbol!r}") from None

    @router.post("/price")
    async def set_price(move: PriceMove) -> JSON:
        """Move a market; every working order the new price reaches is executed."""
        name = contract_name(move.symbol)
        try:
            fills = ex.set_price(name, move.price)
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        return {"symbol": name, "price": float(move.price), "fills": [f.to_json() for f in fills]}

    @router.post("/walk")
    async def walk(body: Walk) -> JSON:
        """Move a market by a seeded random walk on its tick grid."""
        name = contract_name(body.symbol)
        price = ex.random_walk(name, body.steps, body.max_step_ticks)
        return {"symbol": name, "price": float(price)}

    @router.get("/faults")
    async def get_faults() -> Faults:
        return state.faults.faults

    @router.post("/faults")
    async def set_faults(faults: Faults | None = Body(None)) -> Faults:  # noqa: B008
        """Replace every fault setting; an empty body clears them all."""
        faults = faults or Faults()
        if faults.expire_tokens:
            state.tokens.expire_all()
            faults = faults.model_copy(update={"expire_tokens": False})
        state.faults.set(faults)
        if state.hub is not None:  # one-shot: done now, not kept
            if faults.ws_shutdown:
                state.hub.shutdown_all(faults.ws_shutdown)
            if faults.ws_drop:
                state.hub.drop_all()
        kept = faults.model_copy(update={"ws_drop": False, "ws_shutdown": None})
        state.faults.set(kept)
        return faults

    @router.get("/state")
    async def get_state() -> dict[str, Any]:
        accounts = []
        for acct in ex.tables["account"].values():
            row = acct.to_json()
            row["cashBalance"] = ex.cash_snapshot(acct.id)
            accounts.append(row)
        names = {c.id: c.name for c in ex.tables["contract"].values()}
        positions = []
        for pos in ex.tables["position"].values():
            row = pos.to_json()
            row["contractName"] = names[pos.contractId]
            positions.append(row)
        return {
            "accounts": accounts,
            "orders": [ex.order_json(o) for o in ex.tables["order"].values()],
            "positions": positions,
            "fills": [f.to_json() for f in ex.tables["fill"].values()],
            "prices": {
                names[cid]: float(ex.last_price(ex.tables["contract"][cid]))
                for cid in sorted(ex.prices)
            },
            "faults": state.faults.faults.model_dump(),
            "requests": state.requests,
            "ws": state.hub.counts() if state.hub else {"open": 0, "connects": 0, "refused": 0},
        }

    @router.post("/reset")
    async def reset() -> JSON:
        """Back to the starting state: same accounts, prices and seed; faults cleared."""
        ex.reset()
        state.faults.set(Faults())
        return {"ok": True}

    return router
