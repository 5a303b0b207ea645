"""Stage timings of signals and executions.

`signals.timings` and `executions.timings`: milliseconds since the signal's receipt at each
stage it reached (stored, queued; lane turn, planned, first order sent, last order
acknowledged), written with the writes that already happen (no extra round trip).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    for table in ("signals", "executions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("timings", JSON, nullable=True))


def downgrade() -> None:
    for table in ("executions", "signals"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("timings")
