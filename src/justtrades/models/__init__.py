"""Database tables (SQLModel), one module per aggregate, and the async engine/session."""

from justtrades.models.brokers import Account, BrokerConnection, Environment
from justtrades.models.db import metadata
from justtrades.models.positions import PositionSnapshot
from justtrades.models.signals import (
    BrokerCall,
    CallOutcome,
    Execution,
    ExecutionStatus,
    Signal,
    SignalStatus,
)
from justtrades.models.strategies import Strategy, Trader
from justtrades.models.users import ApiKey, User

__all__ = [
    "Account",
    "ApiKey",
    "BrokerCall",
    "BrokerConnection",
    "CallOutcome",
    "Environment",
    "Execution",
    "ExecutionStatus",
    "PositionSnapshot",
    "Signal",
    "SignalStatus",
    "Strategy",
    "Trader",
    "User",
    "metadata",
]
