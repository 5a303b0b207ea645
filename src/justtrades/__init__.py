"""Just Trades: TradingView alerts to futures orders on many broker accounts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("justtrades")
except PackageNotFoundError:  # a source tree on sys.path without being installed
    __version__ = "0.0.0+unknown"
