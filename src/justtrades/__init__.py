"""Just Trades: TradingView alerts to futures orders on many broker accounts."""

__version__ = "0.1.0"
