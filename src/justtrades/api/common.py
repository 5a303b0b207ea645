"""What the API's routes share: owner-scoped reads, id types, settings storage, patching."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import httpx
from fastapi import HTTPException, Path, Query
from pydantic import BaseModel
from sqlmodel import SQLModel

from justtrades.api.deps import Session
from justtrades.execution.settings import RiskSettings, SettingsConflict, check_combination
from justtrades.models import (
    User,
)

MAX_ID = 2_147_483_647  # ids are 32-bit integers in the database
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
T = TypeVar("T", bound=SQLModel)


async def owned(s: Session, model: type[T], item_id: int, user: User, what: str) -> T:
    row = await s.get(model, item_id)
    if row is None or getattr(row, "user_id", None) != user.id:
        raise HTTPException(404, f"{what} {item_id} not found")
    return row


def url_allowed(url: str, allowed: list[str]) -> bool:
    """Same scheme, host (and port, when the allowed URL names one) as an allowed URL, under
    its path; no user info, which would hide the real host (http://ok-host:@elsewhere/)."""
    try:
        u = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return False
    if u.userinfo or u.scheme not in ("http", "https") or not u.host:
        return False
    for entry in allowed:
        try:
            a = httpx.URL(entry)
        except (httpx.InvalidURL, TypeError, ValueError):
            continue
        # an allowed URL without a port allows any port of that host
        same_origin = (u.scheme, u.host) == (a.scheme, a.host) and a.port in (None, u.port)
        under = a.path in ("", "/") or u.path.rstrip("/").startswith(a.path.rstrip("/"))
        if same_origin and under and not a.userinfo:
            return True
    return False


def stored_settings(settings: RiskSettings) -> dict[str, Any]:
    """Settings as stored: checked for refused combinations, only the values that are set."""
    try:
        check_combination(settings)
    except SettingsConflict as e:
        raise HTTPException(422, str(e)) from None
    return settings.model_dump(mode="json", exclude_none=True)


def apply_patch(row: SQLModel, body: BaseModel, names: tuple[str, ...]) -> None:
    """Copy the fields a PATCH gives (None: unchanged)."""
    for name in names:
        value = getattr(body, name)
        if value is not None:
            setattr(row, name, value)
