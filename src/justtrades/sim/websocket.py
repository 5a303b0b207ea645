"""Tradovate's WebSocket in the simulator (reference/tradovate.md §8), at `/v1/websocket` and
`/md/v1/websocket`: one socket serves both user and `md/*` requests.

Framing (SockJS style): `o` on open, `h` every HEARTBEAT_SECS, `a[...]` data, `c[code,"reason"]`
on close. A request is one text frame `endpoint\\nid\\nquery\\nbody`, the body being everything
after the third newline (clients send pretty-printed JSON); endpoints are case-insensitive;
`[]` is the client's heartbeat. A socket that sends nothing for IDLE_SECS is closed.

- `authorize` with the access token or the md token, raw or JSON-quoted: `{"s":200,"i":id}`, or
  `{"s":401,...}` for an unknown or expired one. Every other request needs it first.
- `user/syncrequest` (`{"users":[id]}` or `{"accounts":[id]}`, `splitResponses` accepted): the
  user's state (`users`, `accounts`, `positions`, `orders`, `fills`, `cashBalances`, ...), then
  every change on those accounts as `props` events (entities carry `accountId`).
- `md/subscribeQuote` / `md/unsubscribeQuote` by contract name or id: `{"e":"md","d":{"quotes":
  [...]}}` on every price change, and once at subscription.
- Any other endpoint is answered as over REST (`order/placeorder`, `account/list`, ...).

Faults (`/_sim/faults`): `ws_drop` closes every open socket once; `ws_silent` keeps sockets
open but sends nothing, not even `h`; `ws_connect_429` refuses upgrades with 429;
`ws_shutdown` sends `{"e":"shutdown","d":{"reasonCode":...}}` to every socket, then closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import WebSocket, WebSocketDisconnect
from fastapi.responses import Response

from justtrades.sim.entities import JSON

if TYPE_CHECKING:
    from justtrades.sim.server import SimState

HEARTBEAT_SECS = 2.5
IDLE_SECS = 10.0
MAX_QUEUED_FRAMES = 10_000  # a client that reads slower than this is closed
SYNC_TABLES = {  # SyncMessage list -> exchange table
    "accounts": "account",
    "positions": "position",
    "orders": "order",
    "fills": "fill",
    "cashBalances": "cashBalance",
    "orderStrategies": "orderStrategy",
    "orderVersions": "orderVersion",
    "commands": "command",
    "fillPairs": "fillPair",
}
REFERENCE_TABLES = {"contracts": "contract", "products": "product"}


def frame(*messages: JSON) -> str:
    return "a" + json.dumps(list(messages), separators=(",", ":"), default=str)


def close_frame(code: int, reason: str) -> str:
    return "c" + json.dumps([code, reason])


@dataclass
class Request:
    endpoint: str
    id: int | str
    query: dict[str, str]
    body: Any


def parse_request(text: str) -> Request | None:
    """`endpoint\\nid\\nquery\\nbody`; None when it is not one (then it is ignored)."""
    parts = text.split("\n", 3)
    if len(parts) < 2 or not parts[0].strip():
        return None
    endpoint = parts[0].strip().lower()
    raw_id = parts[1].strip()
    request_id: int | str = int(raw_id) if raw_id.lstrip("-").isdigit() else raw_id
    query: dict[str, str] = {}
    if len(parts) > 2 and parts[2].strip():
        for pair in parts[2].strip().split("&"):
            key, _, value = pair.partition("=")
            query[key] = value
    raw = parts[3].strip() if len(parts) > 3 else ""
    body: Any = None
    if raw and raw != "undefined":
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw  # a raw token (authorize), or junk the endpoint refuses
    return Request(endpoint, request_id, query, body)


@dataclass(eq=False)
class SimSocket:
    hub: WsHub
    ws: WebSocket
    user_id: int | None = None
    accounts: set[int] | None = None  # synced: its props events go out
    quotes: set[int] = field(default_factory=set)  # contract ids subscribed
    out: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    closing: tuple[int, str] | None = None
    _after: list[str] = field(default_factory=list)

    def send(self, text: str) -> None:
        if self.hub.silent or self.closing is not None:
            return
        if self.out.qsize() >= MAX_QUEUED_FRAMES:
            self.close(1008, "the client reads too slowly")
            return
        self.out.put_nowait(text)

    def close(self, code: int, reason: str) -> None:
        """Closes after what is queued: a `c` frame, then the socket."""
        if self.closing is None:
            self.closing = (code, reason)
            self.out.put_nowait(None)

    async def serve(self) -> None:
        await self.ws.accept()
        self.send("o")
        tasks = [
            asyncio.create_task(self._read()),
            asyncio.create_task(self._write()),
            asyncio.create_task(self._beat()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.ws.close()

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.hub.heartbeat_secs)
            self.send("h")

    async def _write(self) -> None:
        while True:
            text = await self.out.get()
            if text is None:
                code, reason = self.closing or (1000, "closed")
                with contextlib.suppress(Exception):
                    await self.ws.send_text(close_frame(code, reason))
                return
            await self.ws.send_text(text)

    async def _read(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.hub.idle_secs):
                    received = await self.ws.receive()
            except TimeoutError:
                self.close(1000, "closed for inactivity")
                await asyncio.sleep(self.hub.idle_secs)  # the writer closes it meanwhile
                return
            except (WebSocketDisconnect, RuntimeError):
                return
            if received.get("type") == "websocket.disconnect":
                return
            message = received.get("text")
            if message is None or message.strip() in ("", "[]"):
                continue  # a binary frame, or the client's heartbeat
            request = parse_request(message)
            if request is None:
                continue
            try:
                reply = self.answer(request)
            except Exception as e:  # never a dead reader: the request is answered 500
                reply = {"s": 500, "i": request.id, "d": f"{type(e).__name__}: {e}"[:300]}
            self.send(frame(reply))
            for text in self._after:  # what follows the answer (a first quote)
                self.send(text)
            self._after.clear()

    def answer(self, request: Request) -> JSON:
        if request.endpoint == "authorize":
            token = request.body if isinstance(request.body, str) else ""
            user_id = self.hub.state.tokens.user_for(token.strip())
            if user_id is None:
                return {"s": 401, "i": request.id, "d": "Access is denied: invalid token"}
            self.user_id = user_id
            return {"s": 200, "i": request.id}
        if self.user_id is None:
            return {"s": 401, "i": request.id, "d": "Not authorized: send authorize first"}
        if request.endpoint == "user/syncrequest":
            return {"s": 200, "i": request.id, "d": self.sync(request.body)}
        if request.endpoint in ("md/subscribequote", "md/unsubscribequote"):
            return self.subscription(request)
        params = dict(request.query)
        if isinstance(request.body, dict):
            params.update(request.body)
        entity, _, op = request.endpoint.partition("/")
        status, body = self.hub.dispatch(self.user_id, entity, op, params)
        return {"s": status, "i": request.id, "d": body}

    def sync(self, body: Any) -> JSON:
        ex = self.hub.state.exchange
        assert self.user_id is not None
        mine = {a.id for a in ex.tables["account"].values() if a.userId == self.user_id}
        wanted = body.get("accounts") if isinstance(body, dict) else None
        if isinstance(wanted, list) and wanted:
            mine &= {a for a in wanted if isinstance(a, int)}
        self.accounts = mine
        users = [u.to_json() for u in ex.tables["user"].values() if u.id == self.user_id]
        message: JSON = {"users": users, "contractGroups": []}
        for name, table in SYNC_TABLES.items():
            message[name] = [
                payload
                for row in ex.tables[table].values()
                if (payload := self.hub.with_account(table, row.to_json())).get("accountId") in mine
                or (table == "account" and row.id in mine)
            ]
        for name, table in REFERENCE_TABLES.items():
            message[name] = [row.to_json() for row in ex.tables[table].values()]
        return message

    def subscription(self, request: Request) -> JSON:
        symbol = request.body.get("symbol") if isinstance(request.body, dict) else None
        contract = self.hub.contract_of(symbol)
        if contract is None:
            return {"s": 404, "i": request.id, "d": f"no contract {symbol!r}"}
        if request.endpoint == "md/subscribequote":
            self.quotes.add(contract.id)
            self._after.append(frame({"e": "md", "d": {"quotes": [self.hub.quote(contract.id)]}}))
        else:
            self.quotes.discard(contract.id)
        return {"s": 200, "i": request.id, "d": {}}


class WsHub:
    """Every open socket of one simulator; the exchange's changes fanned out to them."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.sockets: set[SimSocket] = set()
        self.connects = 0
        self.refused = 0
        self.heartbeat_secs = HEARTBEAT_SECS
        self.idle_secs = IDLE_SECS
        state.exchange.listeners.append(self._props)
        state.exchange.price_listeners.append(self._price)

    @property
    def silent(self) -> bool:
        return self.state.faults.faults.ws_silent

    def counts(self) -> JSON:
        return {"open": len(self.sockets), "connects": self.connects, "refused": self.refused}

    async def serve(self, ws: WebSocket) -> None:
        if self.state.faults.faults.ws_connect_429:
            self.refused += 1
            await ws.send_denial_response(Response(status_code=429))
            return
        self.connects += 1
        sock = SimSocket(self, ws)
        self.sockets.add(sock)
        try:
            await sock.serve()
        finally:
            self.sockets.discard(sock)

    def drop_all(self) -> None:
        for sock in list(self.sockets):
            sock.close(1001, "dropped by the simulator (ws_drop)")

    def shutdown_all(self, reason: str) -> None:
        for sock in list(self.sockets):
            sock.send(frame({"e": "shutdown", "d": {"reasonCode": reason}}))
            sock.close(1001, f"shutdown: {reason}")

    def with_account(self, table: str, entity: JSON) -> JSON:
        """`entity` with its account's id (fills, versions and commands: their order's)."""
        if "accountId" not in entity and "orderId" in entity:
            order = self.state.exchange.tables["order"].get(entity["orderId"])
            if order is not None:
                entity = {**entity, "accountId": order.accountId}
        if "accountId" not in entity and "positionId" in entity:  # a fill pair
            position = self.state.exchange.tables["position"].get(entity["positionId"])
            if position is not None:
                entity = {**entity, "accountId": position.accountId}
        if table == "account":
            entity = {**entity, "accountId": entity.get("id")}
        return entity

    def _props(self, entity_type: str, event_type: str, entity: JSON) -> None:
        payload = self.with_account(entity_type, entity)
        account = payload.get("accountId")
        event: JSON | None = None
        for sock in self.sockets:
            if sock.accounts is not None and account in sock.accounts:
                if event is None:
                    change = {"entityType": entity_type, "eventType": event_type}
                    event = {"e": "props", "d": {**change, "entity": payload}}
                sock.send(frame(event))

    def quote(self, contract_id: int) -> JSON:
        ex = self.state.exchange
        contract = ex.tables["contract"][contract_id]
        price = float(ex.last_price(contract))
        tick = float(contract.providerTickSize)
        return {
            "timestamp": ex.clock.now().isoformat().replace("+00:00", "Z"),
            "contractId": contract_id,
            "entries": {
                "Trade": {"price": price, "size": 1},
                "Bid": {"price": price - tick, "size": 10},
                "Offer": {"price": price + tick, "size": 10},
            },
        }

    def _price(self, contract_id: int) -> None:
        subscribers = [s for s in self.sockets if contract_id in s.quotes]
        if subscribers:
            text = frame({"e": "md", "d": {"quotes": [self.quote(contract_id)]}})
            for sock in subscribers:
                sock.send(text)

    def contract_of(self, symbol: object) -> Any:
        ex = self.state.exchange
        if isinstance(symbol, int) or (isinstance(symbol, str) and symbol.isdigit()):
            return ex.tables["contract"].get(int(symbol))
        if isinstance(symbol, str):
            try:
                return ex.contract(symbol)
            except Exception:
                return None
        return None

    def dispatch(self, user_id: int, entity: str, op: str, params: JSON) -> tuple[int, Any]:
        from justtrades.sim.server import dispatch_json

        return dispatch_json(self.state, user_id, entity, op, params)
