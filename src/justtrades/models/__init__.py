"""Database tables (SQLModel), one module per aggregate, and the async engine/session."""
