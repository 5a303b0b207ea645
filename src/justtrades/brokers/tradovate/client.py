"""Tradovate REST client: tokens, penalty tickets, rate-limit cooldown and the outcome policy.

- One pooled `httpx.AsyncClient` per base URL (`HttpPool`), explicit timeouts on every call.
- The access token is requested once and renewed `renew_before_secs` before its
  `expirationTime` (Tradovate tokens live about 90 minutes); a 401 triggers one fresh login and
  one resend (a 401 means the request was not processed).
- A penalty answer (`p-ticket`, `p-time`) is honoured: wait `p-time`, resend the same body with
  the ticket. `p-captcha: true` cannot be solved by an app: it fails at once.
- A 429 starts a cooldown (the `Retry-After` header, else 15 s doubling up to an hour, doubled
  only when a request sent after the last cooldown is refused again: the 429s of requests that
  were in flight together count once) during which nothing is sent: callers get `RateLimited`
  at once instead of hammering the broker.
- An order-changing request that times out after sending, or gets a 5xx or 429, raises
  `UnknownOutcome`; it is never re-sent (see brokers/base.py).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from justtrades.brokers.base import (
    AuthExpired,
    AuthFailed,
    BrokerError,
    BrokerUnavailable,
    RateLimited,
    UnknownOutcome,
)
from justtrades.clock import Clock, SystemClock

DEMO_URL = "https://demo.tradovateapi.com/v1"
LIVE_URL = "https://live.tradovateapi.com/v1"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class HttpPool:
    """One pooled HTTP client per base URL, shared by every connection that uses it."""

    def __init__(self, timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self._clients: dict[str, httpx.AsyncClient] = {}

    def get(self, base_url: str) -> httpx.AsyncClient:
        client = self._clients.get(base_url)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(
                base_url=base_url,
                timeout=self.timeout,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
                headers={"Accept": "application/json"},
            )
            self._clients[base_url] = client
        return client

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


DEFAULT_POOL = HttpPool()


@dataclass(frozen=True)
class TradovateCredentials:
    username: str
    password: str = field(repr=False)
    app_id: str = "JustTrades"
    app_version: str = "0.1"
    cid: int | str = 0
    sec: str = field(default="", repr=False)
    device_id: str | None = None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.username,
            "password": self.password,
            "appId": self.app_id,
            "appVersion": self.app_version,
            "cid": self.cid,
            "sec": self.sec,
        }
        if self.device_id:
            out["deviceId"] = self.device_id
        return out


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class TradovateClient:
    def __init__(
        self,
        credentials: TradovateCredentials,
        base_url: str = DEMO_URL,
        *,
        clock: Clock | None = None,
        pool: HttpPool | None = None,
        http: httpx.AsyncClient | None = None,
        renew_before_secs: float = 300.0,
        max_penalty_waits: int = 3,
        max_penalty_secs: float = 120.0,
    ) -> None:
        self.credentials = credentials
        self.base_url = base_url.rstrip("/")
        self.clock = clock or SystemClock()
        self.http = http or (pool or DEFAULT_POOL).get(self.base_url)
        self.renew_before_secs = renew_before_secs
        self.max_penalty_waits = max_penalty_waits
        self.max_penalty_secs = max_penalty_secs
        self.access_token: str | None = None
        self.expires_at: datetime | None = None
        self.user_id: int | None = None
        self._auth_lock = asyncio.Lock()
        self._cooldown_until = 0.0  # monotonic
        self._backoff_secs = 0.0
        self._auth_blocked_until = 0.0  # monotonic: after refused credentials, no new attempt
        self._auth_backoff_secs = 0.0
        self._auth_failure = ""
        self._auth_rate_limited = False
        self._renew_retry_at = datetime.min.replace(tzinfo=UTC)
        self.calls = 0  # requests sent, for counting the cost of a code path

    # --- auth ----------------------------------------------------------------------------------

    async def login(self) -> None:
        """A new session. After refused credentials, no new attempt for a while (60 s doubling
        to an hour): every bad login brings Tradovate's one-hour captcha lock closer."""
        left = self._auth_blocked_until - self.clock.monotonic()
        if left > 0:
            why = f"{self._auth_failure} (not retried for {left:.0f} s)"
            if self._auth_rate_limited:  # a rate limit or penalty: it ends, so wait for it
                raise RateLimited(left, why)
            raise AuthFailed(why)
        try:
            body = self.credentials.body()
            self._take_token(await self._send("auth/accesstokenrequest", body, auth=False), "login")
        except AuthFailed as e:
            self._auth_backoff_secs = min(max(self._auth_backoff_secs * 2, 60.0), 3600.0)
            self._block_logins(self._auth_backoff_secs, str(e), rate_limited=False)
            raise
        except RateLimited as e:  # a captcha or a long penalty: no new attempt before it ends
            self._block_logins(
                e.retry_after_secs, f"Tradovate login refused: {e}", rate_limited=True
            )
            raise
        self._auth_backoff_secs = 0.0

    def _block_logins(self, secs: float, why: str, *, rate_limited: bool) -> None:
        self._auth_blocked_until = self.clock.monotonic() + secs
        self._auth_failure = why
        self._auth_rate_limited = rate_limited

    async def renew(self) -> None:
        data = await self._send("auth/renewaccesstoken", None, auth=True, method="GET")
        self._take_token(data, "renewal")

    def _take_token(self, data: Any, what: str) -> None:
        if not isinstance(data, dict) or not data.get("accessToken"):
            text = data.get("errorText") if isinstance(data, dict) else None
            raise AuthFailed(f"Tradovate {what} failed: {text or 'no access token returned'}")
        self.access_token = str(data["accessToken"])
        self.user_id = data.get("userId")
        expiry = data.get("expirationTime")
        self.expires_at = _parse_time(expiry) if expiry else None

    def _token_fresh(self) -> bool:
        if self.access_token is None:
            return False
        if self.expires_at is None:
            return True
        now = self.clock.now()
        if now < self._renew_retry_at and now < self.expires_at:
            return True  # renewal failed a moment ago: keep using the valid token for now
        return now < self.expires_at - timedelta(seconds=self.renew_before_secs)

    async def ensure_token(self) -> None:
        if self._token_fresh():
            return
        async with self._auth_lock:
            if self._token_fresh():
                return
            live = self.expires_at is not None and self.clock.now() < self.expires_at
            if self.access_token is not None and live:
                try:
                    await self.renew()
                    return
                except (AuthFailed, AuthExpired):
                    pass  # renewal refused: a fresh login follows
                except BrokerError:
                    # Any other failure (5xx, 429, an odd 4xx): the current token is still
                    # valid; use it, and try renewing again in 30 s rather than on every call.
                    self._renew_retry_at = self.clock.now() + timedelta(seconds=30)
                    return
            await self.login()

    # --- requests ------------------------------------------------------------------------------

    async def get(self, path: str, **params: Any) -> Any:
        return await self.call(path, None, params=params, mutating=False, method="GET")

    async def post(self, path: str, body: dict[str, Any], *, mutating: bool) -> Any:
        return await self.call(path, body, mutating=mutating)

    async def call(
        self,
        path: str,
        body: dict[str, Any] | None,
        *,
        params: dict[str, Any] | None = None,
        mutating: bool,
        method: str = "POST",
    ) -> Any:
        await self.ensure_token()
        used = self.access_token
        try:
            return await self._send(path, body, params=params, mutating=mutating, method=method)
        except AuthExpired:
            # A 401 means the request was not processed: log in afresh and send it once more.
            # Many calls may see the same dead token at once; only the first logs in.
            async with self._auth_lock:
                if self.access_token == used:
                    await self.login()
            return await self._send(path, body, params=params, mutating=mutating, method=method)

    async def _send(
        self,
        path: str,
        body: dict[str, Any] | None,
        *,
        auth: bool = True,
        params: dict[str, Any] | None = None,
        mutating: bool = False,
        method: str = "POST",
    ) -> Any:
        payload = dict(body) if body is not None else None
        for _ in range(self.max_penalty_waits + 1):
            self._check_cooldown()
            data = await self._once(path, payload, auth, params, mutating, method)
            if not (isinstance(data, dict) and "p-ticket" in data):
                return data
            wait = float(data.get("p-time") or 0)
            if data.get("p-captcha"):
                raise RateLimited(3600, "Tradovate asks for a captcha (too many attempts)")
            if wait > self.max_penalty_secs:
                raise RateLimited(wait, f"Tradovate penalty of {wait:.0f} s on {path}")
            await self.clock.sleep(wait)
            payload = {**(payload or {}), "p-ticket": data["p-ticket"]}
        raise RateLimited(self.max_penalty_secs, f"Tradovate kept penalising {path}")

    def _check_cooldown(self) -> None:
        left = self._cooldown_until - self.clock.monotonic()
        if left > 0:
            raise RateLimited(left, "Tradovate rate limit cooldown; request not sent")

    def _start_cooldown(self, response: httpx.Response, sent_at: float) -> float:
        """Retry-After when given; else 15 s, doubled (up to an hour) only when a request sent
        after the last cooldown ended is refused again. A 429 answering a request that was
        already in flight when a cooldown began does not stack into a longer one."""
        now = self.clock.monotonic()
        header = response.headers.get("retry-after")
        try:
            wait = float(header) if header else 0.0
        except ValueError:
            wait = 0.0
        if math.isfinite(wait) and wait > 0:
            wait = min(max(wait, 1.0), 3600.0)
        elif sent_at < self._cooldown_until:  # in flight when the cooldown began: no stacking
            if now < self._cooldown_until:
                return self._cooldown_until - now
            wait = self._backoff_secs or 15.0  # it outlived the cooldown: again, not doubled
        else:
            self._backoff_secs = min(max(self._backoff_secs * 2, 15.0), 3600.0)
            wait = self._backoff_secs
        self._cooldown_until = max(self._cooldown_until, now + wait)
        return wait

    async def _once(
        self,
        path: str,
        payload: dict[str, Any] | None,
        auth: bool,
        params: dict[str, Any] | None,
        mutating: bool,
        method: str,
    ) -> Any:
        headers = {}
        if auth:
            if self.access_token is None:
                raise AuthExpired("no access token")
            headers["Authorization"] = f"Bearer {self.access_token}"
        what = f"{method} /{path}"
        self.calls += 1
        sent_at = self.clock.monotonic()
        try:
            response = await self.http.request(
                method, f"{self.base_url}/{path}", json=payload, params=params, headers=headers
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as e:
            raise BrokerUnavailable(f"{what}: not sent ({type(e).__name__})") from None
        except (httpx.TimeoutException, httpx.TransportError) as e:
            if mutating:
                raise UnknownOutcome(f"{what}: no answer ({type(e).__name__})") from None
            raise BrokerUnavailable(f"{what}: no answer ({type(e).__name__})") from None
        status = response.status_code
        if status in (423, 429):  # 423 warns that a 429 lock-out is next: back off the same way
            wait = self._start_cooldown(response, sent_at)
            if mutating:
                raise UnknownOutcome(f"{what}: HTTP {status} (cooling down {wait:.0f} s)")
            raise RateLimited(wait, f"{what}: HTTP {status}")
        if status >= 500:
            if mutating:
                raise UnknownOutcome(f"{what}: HTTP {status}")
            raise BrokerUnavailable(f"{what}: HTTP {status}")
        if status == 401 or (status == 400 and _about_token(response)):
            # Tradovate answers an expired token with 401, sometimes 400: not processed.
            raise AuthExpired(f"{what}: HTTP {status} {_text(response)}")
        if status >= 400:
            raise BrokerError(f"{what}: HTTP {status} {_text(response)}")
        if sent_at >= self._cooldown_until:  # not an answer to a request from before it
            self._backoff_secs = 0.0
        try:
            return response.json()
        except ValueError:
            if mutating:
                raise UnknownOutcome(f"{what}: unreadable answer") from None
            raise BrokerUnavailable(f"{what}: unreadable answer") from None


def _about_token(response: httpx.Response) -> bool:
    """A 400 that says the access token is bad ("Expired Access Token"), not any 400."""
    return "access token" in _text(response).lower()


def _text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict) and data.get("errorText"):
        return str(data["errorText"])
    return str(data)[:200]
