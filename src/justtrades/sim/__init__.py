"""Exchange core and the Tradovate-compatible simulator built around it.

`Exchange` (exchange.py) is the deterministic, I/O-free core; `server.py` exposes it with
Tradovate's REST surface under `/v1` and a control API under `/_sim`; `runner.py` runs that server
in process or from the command line.
"""

from justtrades.sim.exchange import Exchange, Rejected

__all__ = ["Exchange", "Rejected"]
