"""Structured logs: one JSON object a line, ids bound, secrets masked."""

from __future__ import annotations

import json
import logging

from justtrades.logs import JsonFormatter, bind, event


def test_a_line_is_json_with_bound_ids_and_no_secrets() -> None:
    records: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(JsonFormatter().format(record))

    logger = logging.getLogger("jt.test.logs")
    logger.addHandler(Capture())
    logger.setLevel(logging.INFO)
    with bind(signal_id=7, trader_id=3, account_id=11):
        event(
            logger, "placed", password="hunter2", access_token="abc", api_key="jt_x", order_id="42"
        )
    event(logger, "after")
    first, second = (json.loads(line) for line in records)
    assert first["msg"] == "placed" and first["level"] == "info"
    assert (first["signal_id"], first["trader_id"], first["account_id"]) == (7, 3, 11)
    assert first["password"] == first["access_token"] == first["api_key"] == "***"
    assert first["order_id"] == "42"
    assert "signal_id" not in second
    assert "hunter2" not in "".join(records)


def test_broker_url_allow_list_compares_parsed_origins() -> None:
    from justtrades.api.v1 import url_allowed

    allowed = ["http://127.0.0.1", "https://sim.example.com:8443/v1"]
    assert url_allowed("http://127.0.0.1:8700/v1", allowed)
    assert url_allowed("https://sim.example.com:8443/v1", allowed)
    for bad in [
        "http://127.0.0.1:@169.254.169.254/v1",  # user info hides the real host
        "http://user@127.0.0.1/v1",
        "https://sim.example.com.evil.net:8443/v1",
        "https://sim.example.com:9999/v1",  # another port than the one named
        "https://sim.example.com:8443/admin",  # outside the path
        "http://10.0.0.1/v1",
        "file:///etc/passwd",
        "not a url",
    ]:
        assert not url_allowed(bad, allowed), bad
