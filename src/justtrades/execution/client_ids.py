"""Client order ids: what the service sends with every order so the broker's copy can be found
again (after a timeout, a 5xx, a crash). Pure.

    jt<signal id>-<trader id>-<step>-<salt>      e.g. jt1042-7-2-9f3a

Unique per account: one signal trades a broker account once, a step number is used once per
execution, and the salt (4 hex digits, new for every execution) keeps a signal run again after a
restart from reusing the ids of its first run.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

PREFIX = "jt"
MAX_LEN = 64  # broker_calls.client_order_id
_PATTERN = re.compile(r"^jt(\d{1,19})-(\d{1,19})-(\d{1,6})-([0-9a-f]{4})$")


@dataclass(frozen=True)
class ClientOrderId:
    signal_id: int
    trader_id: int
    seq: int
    salt: str

    def __str__(self) -> str:
        return encode(self.signal_id, self.trader_id, self.seq, self.salt)


def new_salt() -> str:
    return secrets.token_hex(2)


def encode(signal_id: int, trader_id: int, seq: int, salt: str) -> str:
    if min(signal_id, trader_id, seq) < 0 or not re.fullmatch(r"[0-9a-f]{4}", salt):
        raise ValueError(f"not a client order id: {signal_id}, {trader_id}, {seq}, {salt!r}")
    return f"{PREFIX}{signal_id}-{trader_id}-{seq}-{salt}"


def parse(text: str) -> ClientOrderId | None:
    """The parts of one of our ids; None for anything else (an order placed by hand, another
    tool's id)."""
    found = _PATTERN.match(text)
    if found is None:
        return None
    signal_id, trader_id, seq, salt = found.groups()
    return ClientOrderId(int(signal_id), int(trader_id), int(seq), salt)
