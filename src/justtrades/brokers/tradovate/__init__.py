"""Tradovate: REST client (auth, penalties, rate limits) and the Broker adapter."""

from justtrades.brokers.tradovate.adapter import TradovateBroker
from justtrades.brokers.tradovate.client import (
    DEMO_URL,
    LIVE_URL,
    TradovateClient,
    TradovateCredentials,
)

__all__ = ["DEMO_URL", "LIVE_URL", "TradovateBroker", "TradovateClient", "TradovateCredentials"]
