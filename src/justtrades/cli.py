"""The `justtrades` command: serve, db upgrade, user create, apikey create, demo, sim."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence

from justtrades.sim.auth import DEFAULT_TOKEN_TTL_SECS


def _settings(args: argparse.Namespace) -> object:
    from justtrades.config import Settings

    overrides = {
        k: v
        for k, v in (("host", getattr(args, "host", None)), ("port", getattr(args, "port", None)))
        if v is not None
    }
    return Settings(**overrides)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from justtrades.app import create_app, setup_logging
    from justtrades.config import Settings
    from justtrades.models.db import upgrade

    settings = _settings(args)
    assert isinstance(settings, Settings)
    setup_logging(settings)
    asyncio.run(upgrade(settings.database_url))
    app = create_app(settings)
    # Uvicorn's own lines (startup, errors) go through our logging (log_config=None); the
    # access lines are ours too (api/access.py: request id, masked webhook tokens).
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=False,
    )
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from justtrades.app import setup_logging
    from justtrades.config import Settings
    from justtrades.logs import get_logger
    from justtrades.models.db import upgrade

    settings = Settings()
    setup_logging(settings)
    asyncio.run(upgrade(settings.database_url))
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    get_logger("justtrades.cli").info("database at head", database=where)
    return 0


HEALTH_TIMEOUT_SECS = 3.0


def _health(args: argparse.Namespace) -> int:
    """GET /health of the service on this machine: exit 0 when it answers 200 (the image's
    health check; no curl in a slim image)."""
    import urllib.error
    import urllib.request

    from justtrades.config import Settings

    settings = Settings()
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(settings.host, settings.host)
    if ":" in host:  # an IPv6 address goes in brackets in a URL
        host = f"[{host}]"
    url = args.url or f"http://{host}:{settings.port}/health"
    try:
        with urllib.request.urlopen(url, timeout=HEALTH_TIMEOUT_SECS) as answer:
            status = answer.status
    except urllib.error.HTTPError as e:
        status = e.code
    except (urllib.error.URLError, OSError) as e:
        print(f"justtrades: {url} did not answer: {e}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"justtrades: {url} answered {status}", file=sys.stderr)
        return 1
    print(f"{url}: ok")
    return 0


async def _with_session(action: str, args: argparse.Namespace) -> int:
    from justtrades.admin import AdminError, create_api_key, create_user, user_by_email
    from justtrades.clock import SystemClock
    from justtrades.config import Settings
    from justtrades.models.db import create_engine, session_factory, upgrade

    settings = Settings()
    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    clock = SystemClock()
    try:
        async with session_factory(engine)() as s:
            if action == "user":
                user = await create_user(s, clock, args.email, args.password, admin=args.admin)
                print(f"user {user.email} created" + (" (admin)" if args.admin else ""))
            else:
                found = await user_by_email(s, args.email)
                if found is None:
                    raise AdminError(f"no user {args.email}")
                print(await create_api_key(s, clock, found, args.name))
            await s.commit()
    except AdminError as e:
        print(f"justtrades: {e}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    return 0


def _demo(args: argparse.Namespace) -> int:
    from justtrades.config import Settings
    from justtrades.demo import run_demo

    settings = _settings(args)
    assert isinstance(settings, Settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_demo(settings, sim_port=args.sim_port))
    return 0


def _sim_tradovate(args: argparse.Namespace) -> int:
    import uvicorn

    from justtrades.app import setup_logging
    from justtrades.config import Settings
    from justtrades.sim.server import create_sim_app

    setup_logging(Settings())
    app = create_sim_app(seed=args.seed, accounts=args.accounts, token_ttl_secs=args.token_ttl)
    print(
        f"Tradovate simulator on http://{args.host}:{args.port}/v1 "
        f"(user demo / password demo, {args.accounts} accounts, seed {args.seed}); "
        f"control API at http://{args.host}:{args.port}/_sim, docs at /docs",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", log_config=None)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from justtrades import __version__

    parser = argparse.ArgumentParser(prog="justtrades", description=__doc__)
    parser.add_argument("--version", action="version", version=f"justtrades {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the service (migrates the database first)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=_serve)

    db = commands.add_parser("db", help="database")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="migrate to the latest schema").set_defaults(
        func=_db_upgrade
    )

    health = commands.add_parser("health", help="exit 0 if the local service answers /health")
    health.add_argument("--url", help="default: http://JT_HOST:JT_PORT/health")
    health.set_defaults(func=_health)

    user = commands.add_parser("user", help="users")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    create = user_commands.add_parser("create", help="create a user")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--admin", action="store_true")
    create.set_defaults(func=lambda a: asyncio.run(_with_session("user", a)))

    apikey = commands.add_parser("apikey", help="API keys")
    apikey_commands = apikey.add_subparsers(dest="apikey_command", required=True)
    new_key = apikey_commands.add_parser("create", help="create an API key (printed once)")
    new_key.add_argument("--email", required=True)
    new_key.add_argument("--name", default="cli")
    new_key.set_defaults(func=lambda a: asyncio.run(_with_session("apikey", a)))

    demo = commands.add_parser("demo", help="run everything with the built-in simulator")
    demo.add_argument("--host")
    demo.add_argument("--port", type=int)
    demo.add_argument("--sim-port", type=int, default=8700)
    demo.set_defaults(func=_demo)

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
    from pydantic import ValidationError

    try:
        result: int = args.func(args)
    except ValidationError as e:  # a JT_* variable that cannot be used: say which, and why
        for problem in e.errors():
            where = "JT_" + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"justtrades: {where}: {problem['msg']}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
