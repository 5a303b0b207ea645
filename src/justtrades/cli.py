"""The `justtrades` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from justtrades.sim.auth import DEFAULT_TOKEN_TTL_SECS


def _sim_tradovate(args: argparse.Namespace) -> int:
    import uvicorn

    from justtrades.sim.server import create_sim_app

    app = create_sim_app(seed=args.seed, accounts=args.accounts, token_ttl_secs=args.token_ttl)
    print(
        f"Tradovate simulator on http://{args.host}:{args.port}/v1 "
        f"(user demo / password demo, {args.accounts} accounts, seed {args.seed}); "
        f"control API at http://{args.host}:{args.port}/_sim, docs at /docs",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="justtrades", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    sim = commands.add_parser("sim", help="run a broker simulator")
    brokers = sim.add_subparsers(dest="broker", required=True)
    tv = brokers.add_parser("tradovate", help="the Tradovate-compatible simulator")
    tv.add_argument("--host", default="127.0.0.1")
    tv.add_argument("--port", type=int, default=8700)
    tv.add_argument("--accounts", type=int, default=3, help="accounts of the demo user")
    tv.add_argument("--seed", type=int, default=1, help="seed of random walks and faults")
    tv.add_argument(
        "--token-ttl",
        type=float,
        default=DEFAULT_TOKEN_TTL_SECS,
        metavar="SECS",
        help="access token lifetime in seconds (default 5400 = 90 min)",
    )
    tv.set_defaults(func=_sim_tradovate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "accounts", 1) < 1 or getattr(args, "token_ttl", 1) <= 0:
        parser.error("--accounts must be at least 1 and --token-ttl positive")
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
