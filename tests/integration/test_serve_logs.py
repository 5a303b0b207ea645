"""`justtrades serve` with JT_LOG_FORMAT=json, as a real process: every line it writes, on
stdout and on stderr, from migration to shutdown, is one JSON object with event, level and
timestamp; requests carry their id; a webhook token never appears."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_up(base: str, process: subprocess.Popen[str], timeout_secs: float = 30) -> None:
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        assert process.poll() is None, "the service exited"
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the service did not come up")


def test_every_line_of_serve_is_json(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "JT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'jt.db'}",
        "JT_PORT": str(port),
        "JT_LOG_FORMAT": "json",
        "JT_LOG_LEVEL": "info",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "justtrades", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    token = "AbCdEf0123456789secretTok"
    try:
        wait_until_up(base, process)
        headers = {"X-Request-ID": "req-abc-123"}
        hook = httpx.post(f"{base}/webhook/{token}", content=b"buy", headers=headers)
        assert hook.status_code == 404 and hook.headers["x-request-id"] == "req-abc-123"
        odd = httpx.get(f"{base}/health", headers={"X-Request-ID": "bad id with spaces"})
        assert odd.headers["x-request-id"] != "bad id with spaces"  # replaced by a fresh one
        answer = httpx.get(f"{base}/status", timeout=5)
        assert answer.status_code == 200 and answer.headers["x-request-id"]
        assert httpx.get(f"{base}/nowhere").status_code == 404
        health = subprocess.run(
            [sys.executable, "-m", "justtrades", "health", "--url", f"{base}/health"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert health.returncode == 0, health.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    # uvicorn shuts down gracefully, then ends by the signal it was sent (as `kill` expects)
    assert process.returncode in (0, -signal.SIGTERM), stderr
    records: list[dict[str, Any]] = []
    for line in (stdout + stderr).splitlines():
        record = json.loads(line)  # every line, or this fails
        assert {"event", "level", "timestamp"} <= record.keys(), record
        assert "color_message" not in record and "\\u001b" not in line
        records.append(record)
    events = [r["event"] for r in records]
    assert any("Running upgrade" in e for e in events)  # alembic, routed
    assert any(e.startswith("Uvicorn running on") for e in events)  # uvicorn, routed
    assert "service started" in events and "service stopped" in events
    requests = [r for r in records if r["event"] == "request"]
    webhook = next(r for r in requests if r["request_id"] == "req-abc-123")
    assert webhook["path"] == "/webhook/***" and webhook["route"] == "/webhook/{token}"
    assert webhook["status"] == 404 and webhook["method"] == "POST"
    assert {r["path"] for r in requests} >= {"/status", "/nowhere"}
    assert token not in stdout + stderr
