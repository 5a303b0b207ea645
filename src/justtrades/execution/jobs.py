"""What one trader's execution of one signal is given (TraderJob) and how it ends (Outcome,
verdict): plain values shared by the dispatcher, the account runner and recovery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from justtrades.brokers.registry import ConnectionSpec
from justtrades.execution.settings import EffectiveSettings
from justtrades.instruments import Contract


@dataclass(frozen=True)
class TraderJob:
    trader_id: int
    account_id: int
    broker_account_id: str
    connection: ConnectionSpec
    settings: EffectiveSettings | None
    contract: Contract | None
    problem: str | None  # why this trader cannot trade this signal
    broker_key: tuple[str, ...] = ()  # the broker account itself, whatever row names it


def verdict(status: str, error: str | None) -> str:
    """What an execution's end means for its signal: a `skipped` one was either too old
    (every such reason starts with "expired") or blocked."""
    if status == "skipped" and (error or "").startswith("expired"):
        return "expired"
    return status


@dataclass
class Outcome:
    status: str  # done | failed | skipped
    error: str | None = None
    plan: dict[str, Any] | None = None
    result: str | None = None


def plan_steps(requests: list[dict[str, Any] | None]) -> int | None:
    """How many steps a plan had, from its order calls' requests ("step": "k/n")."""
    for request in requests:
        step = str((request or {}).get("step", ""))
        if "/" in step and step.split("/")[1].isdigit():
            return int(step.split("/")[1])
    return None
