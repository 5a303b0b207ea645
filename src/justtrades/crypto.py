"""Secrets at rest: broker credentials and tokens are sealed with authenticated encryption
(Fernet: AES-128-CBC + HMAC-SHA256), bound to the row and field they belong to, with a key
derived from the settings' secret key.
API keys and passwords are never stored, only hashed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from pwdlib import PasswordHash

_passwords = PasswordHash.recommended()


class SecretBox:
    def __init__(self, key: str) -> None:
        digest = hashlib.sha256(b"justtrades/secretbox/v1" + key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))
        self._bind_key = hashlib.sha256(b"justtrades/bind/v1" + key.encode()).digest()

    def _tag(self, context: str) -> str:
        return hmac.new(self._bind_key, context.encode(), hashlib.sha256).hexdigest()[:16]

    def seal(self, value: dict[str, Any], context: str) -> str:
        """Encrypt `value` for one owner and field (`context`, e.g. "connection:7:credentials");
        the ciphertext cannot be moved to another row or field."""
        payload = json.dumps({"c": self._tag(context), "v": value}, separators=(",", ":"))
        return self._fernet.encrypt(payload.encode()).decode()

    def open(self, token: str, context: str) -> dict[str, Any]:
        try:
            payload = json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError) as e:
            raise ValueError("cannot decrypt: wrong key or damaged value") from e
        if not hmac.compare_digest(str(payload.get("c")), self._tag(context)):
            raise ValueError("this secret belongs to another record")
        value: dict[str, Any] = payload["v"]
        return value


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    try:
        return _passwords.verify(password, hashed)
    except Exception:  # a malformed hash is a failed login, never a crash
        return False


API_KEY_PREFIX = "jt_"


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """API keys are long random strings: a plain SHA-256 is enough (no brute force to slow)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_webhook_token() -> str:
    """192 bits of randomness, URL-safe (SPEC asks at least 128)."""
    return secrets.token_urlsafe(24)
