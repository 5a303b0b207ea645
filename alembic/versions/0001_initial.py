"""Initial schema.

Users, API keys, broker connections, accounts, strategies, traders, signals, executions, broker
calls, position snapshots.

Every row belongs to a user: each table reaches `users` through ON DELETE CASCADE foreign keys,
so deleting a user deletes all that is theirs. Traders, accounts and signals point at their
strategy / connection / account through (id, user_id) pairs, so a row can never link objects
of two different users. Executions keep their history when a trader or account goes (SET NULL).

Written self-contained (plain SQLAlchemy types, literal CHECK values): later changes to the
models must not change what this revision does.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# JSONB on PostgreSQL, JSON (text) on SQLite.
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

# Never reuse ids of deleted rows on SQLite (PostgreSQL sequences never do).
SQLITE = {"sqlite_autoincrement": True}


def id_column() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    """Aware UTC timestamps (timestamptz; UTC text on SQLite, see models.types.UtcDateTime)."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def owner(table: str) -> tuple[sa.Column[int], sa.ForeignKeyConstraint, sa.Index]:
    """`user_id`, its CASCADE foreign key to users, and its index."""
    return (
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
        ),
        sa.Index(op.f(f"ix_{table}_user_id"), "user_id"),
    )


def upgrade() -> None:
    op.create_table(
        "users",
        id_column(),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_approved", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("time_zone", sa.String(64), server_default="America/Chicago", nullable=False),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        **SQLITE,
    )

    op.create_table(
        "api_keys",
        id_column(),
        *owner("api_keys"),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        timestamp("created_at"),
        timestamp("last_used_at", nullable=True),
        timestamp("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.Index(op.f("ix_api_keys_prefix"), "prefix"),
        **SQLITE,
    )

    op.create_table(
        "broker_connections",
        id_column(),
        *owner("broker_connections"),
        sa.Column("broker", sa.String(20), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("environment", sa.String(10), nullable=False),
        sa.Column("base_url", sa.String(), nullable=True),
        sa.Column("username", sa.String(), nullable=True),
        sa.Column("credentials_encrypted", sa.Text(), nullable=False),
        sa.Column("token_encrypted", sa.Text(), nullable=True),
        timestamp("token_expires_at", nullable=True),
        sa.Column("status", sa.String(20), server_default="new", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        timestamp("created_at"),
        timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broker_connections")),
        sa.UniqueConstraint("id", "user_id", name=op.f("uq_broker_connections_id_user_id")),
        sa.CheckConstraint(
            "environment IN ('demo', 'live', 'custom')",
            name=op.f("ck_broker_connections_environment"),
        ),
        **SQLITE,
    )

    op.create_table(
        "strategies",
        id_column(),
        *owner("strategies"),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("webhook_token", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("settings", JSON, server_default=sa.text("'{}'"), nullable=False),
        timestamp("created_at"),
        timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategies")),
        sa.UniqueConstraint("id", "user_id", name=op.f("uq_strategies_id_user_id")),
        sa.Index(op.f("ix_strategies_webhook_token"), "webhook_token", unique=True),
        **SQLITE,
    )

    op.create_table(
        "accounts",
        id_column(),
        *owner("accounts"),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("broker_account_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.ForeignKeyConstraint(
            ["connection_id", "user_id"],
            ["broker_connections.id", "broker_connections.user_id"],
            name=op.f("fk_accounts_connection_id_user_id_broker_connections"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "connection_id",
            "broker_account_id",
            name=op.f("uq_accounts_connection_id_broker_account_id"),
        ),
        sa.UniqueConstraint("id", "user_id", name=op.f("uq_accounts_id_user_id")),
        **SQLITE,
    )

    op.create_table(
        "traders",
        id_column(),
        *owner("traders"),
        sa.Column("strategy_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("multiplier", sa.Numeric(12, 4), server_default=sa.text("1"), nullable=False),
        sa.Column("settings", JSON, server_default=sa.text("'{}'"), nullable=False),
        timestamp("created_at"),
        timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_traders")),
        sa.ForeignKeyConstraint(
            ["strategy_id", "user_id"],
            ["strategies.id", "strategies.user_id"],
            name=op.f("fk_traders_strategy_id_user_id_strategies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "user_id"],
            ["accounts.id", "accounts.user_id"],
            name=op.f("fk_traders_account_id_user_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "strategy_id", "account_id", name=op.f("uq_traders_strategy_id_account_id")
        ),
        sa.Index(op.f("ix_traders_account_id"), "account_id"),
        **SQLITE,
    )

    op.create_table(
        "signals",
        id_column(),
        *owner("signals"),
        sa.Column("strategy_id", sa.Integer(), nullable=False),
        timestamp("received_at"),
        sa.Column("content_type", sa.String(255), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("intent", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        timestamp("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
        sa.ForeignKeyConstraint(
            ["strategy_id", "user_id"],
            ["strategies.id", "strategies.user_id"],
            name=op.f("fk_signals_strategy_id_user_id_strategies"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "status IN ('accepted', 'executing', 'done', 'expired', 'rejected', 'duplicate', "
            "'failed', 'ignored', 'interrupted')",
            name=op.f("ck_signals_status"),
        ),
        sa.Index(op.f("ix_signals_received_at"), "received_at"),
        sa.Index(op.f("ix_signals_status"), "status"),
        sa.Index(
            op.f("ix_signals_strategy_id_body_hash_received_at"),
            "strategy_id",
            "body_hash",
            "received_at",
        ),
        **SQLITE,
    )

    op.create_table(
        "executions",
        id_column(),
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("trader_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("symbol", sa.String(32), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("plan", JSON, nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        timestamp("created_at"),
        timestamp("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_executions")),
        sa.ForeignKeyConstraint(
            ["signal_id"],
            ["signals.id"],
            name=op.f("fk_executions_signal_id_signals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trader_id"],
            ["traders.id"],
            name=op.f("fk_executions_trader_id_traders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_executions_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'running', 'done', 'failed', 'skipped')",
            name=op.f("ck_executions_status"),
        ),
        sa.Index(op.f("ix_executions_signal_id"), "signal_id"),
        sa.Index(op.f("ix_executions_trader_id"), "trader_id"),
        sa.Index(op.f("ix_executions_account_id"), "account_id"),
        **SQLITE,
    )

    op.create_table(
        "broker_calls",
        id_column(),
        sa.Column("execution_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("client_order_id", sa.String(64), nullable=True),
        sa.Column("request", JSON, nullable=True),
        sa.Column("response", JSON, nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        timestamp("started_at"),
        timestamp("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broker_calls")),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name=op.f("fk_broker_calls_execution_id_executions"),
            ondelete="CASCADE",
        ),
        # Also the index on execution_id (its leading column).
        sa.UniqueConstraint("execution_id", "seq", name=op.f("uq_broker_calls_execution_id_seq")),
        sa.CheckConstraint(
            "outcome IN ('sent', 'ok', 'rejected', 'unknown', 'failed')",
            name=op.f("ck_broker_calls_outcome"),
        ),
        **SQLITE,
    )

    op.create_table(
        "position_snapshots",
        id_column(),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("net_pos", sa.Integer(), nullable=False),
        sa.Column("avg_price", sa.Numeric(18, 8), nullable=True),
        timestamp("taken_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position_snapshots")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_position_snapshots_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.Index(op.f("ix_position_snapshots_account_id"), "account_id"),
        sa.Index(op.f("ix_position_snapshots_taken_at"), "taken_at"),
        **SQLITE,
    )


def downgrade() -> None:
    # Children first; dropping a table drops its indexes and constraints with it.
    for table in (
        "position_snapshots",
        "broker_calls",
        "executions",
        "signals",
        "traders",
        "accounts",
        "strategies",
        "broker_connections",
        "api_keys",
        "users",
    ):
        op.drop_table(table)
