"""Access tokens: opaque strings with an expiry, as `auth/accesstokenrequest` issues them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from justtrades.clock import Clock

DEFAULT_TOKEN_TTL_SECS = 90 * 60


@dataclass
class Token:
    user_id: int
    expires_at: datetime


class TokenStore:
    def __init__(self, clock: Clock, ttl_secs: float = DEFAULT_TOKEN_TTL_SECS) -> None:
        self.clock = clock
        self.ttl_secs = ttl_secs
        self._tokens: dict[str, Token] = {}

    def issue(self, user_id: int) -> tuple[str, str, datetime]:
        """A new (accessToken, mdAccessToken, expirationTime) for the user."""
        expires = self.clock.now() + timedelta(seconds=self.ttl_secs)
        access = "sim-" + secrets.token_urlsafe(24)
        md = "sim-md-" + secrets.token_urlsafe(24)
        self._tokens[access] = Token(user_id, expires)
        self._tokens[md] = Token(user_id, expires)
        self._prune()
        return access, md, expires

    def user_for(self, token: str) -> int | None:
        """The user the token belongs to, or None if it is unknown or expired."""
        found = self._tokens.get(token)
        if found is None or found.expires_at <= self.clock.now():
            return None
        return found.user_id

    def expire_all(self) -> None:
        self._tokens.clear()

    def _prune(self) -> None:
        now = self.clock.now()
        for key in [k for k, t in self._tokens.items() if t.expires_at <= now]:
            del self._tokens[key]
