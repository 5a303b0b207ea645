"""Signals may end `skipped`: every trader was blocked (by a filter, or disabled before its
turn), as opposed to `expired` (too old to trade).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = (
    "accepted",
    "executing",
    "done",
    "expired",
    "rejected",
    "duplicate",
    "failed",
    "ignored",
    "interrupted",
)
AFTER = (*BEFORE, "skipped")


def _allowed(values: tuple[str, ...]) -> str:
    return "status IN ({})".format(", ".join(f"'{v}'" for v in values))


def upgrade() -> None:
    with op.batch_alter_table("signals") as batch:
        batch.drop_constraint(op.f("ck_signals_status"), type_="check")
        batch.create_check_constraint("status", _allowed(AFTER))


def downgrade() -> None:
    op.execute("UPDATE signals SET status = 'expired' WHERE status = 'skipped'")
    with op.batch_alter_table("signals") as batch:
        batch.drop_constraint(op.f("ck_signals_status"), type_="check")
        batch.create_check_constraint("status", _allowed(BEFORE))
