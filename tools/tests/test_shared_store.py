"""Issue 11's scenario without a redis-server, and the bench's own RESP client on canned replies."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.processes import free_port
from support.redis_server import answers_ping

from bench.redis_client import command_calls, server_version
from bench.scenarios.shared_store import MISSING, find_redis_server

COMMANDSTATS = (
    "# Commandstats\r\n"
    "cmdstat_get:calls=12,usec=30,usec_per_call=2.50,rejected_calls=0,failed_calls=0\r\n"
    "cmdstat_info:calls=4,usec=80,usec_per_call=20.00,rejected_calls=0,failed_calls=0\r\n"
    "cmdstat_client|setinfo:calls=2,usec=3,usec_per_call=1.50,rejected_calls=0,failed_calls=0\r\n"
)
SERVER = "# Server\r\nredis_version:7.2.4\r\nvalkey_version:8.1.1\r\n"


@pytest.fixture
def fake_redis() -> Iterator[tuple[int, list[bytes]]]:
    """A server answering each connection's one command from canned replies; the requests seen."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []

    def reply_to(request: bytes) -> bytes:
        if b"PING" in request:
            return b"+PONG\r\n"
        if b"LOADING" in request:
            return b"-LOADING Redis is loading the dataset in memory\r\n"
        text = COMMANDSTATS if b"commandstats" in request else SERVER
        return b"$%d\r\n%s\r\n" % (len(text), text.encode())

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                request = conn.recv(4096)
                seen.append(request)
                conn.sendall(reply_to(request))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        listener.close()
        thread.join(5)


def test_the_counters_are_read_from_info_commandstats(fake_redis: tuple[int, list[bytes]]) -> None:
    port, seen = fake_redis
    assert command_calls(port) == {"get": 12, "client|setinfo": 2}  # INFO itself left out
    assert seen == [b"*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n"]
    assert server_version(port) == "valkey 8.1.1"
    assert answers_ping(port)


def test_a_server_not_listening_is_not_ready() -> None:
    assert not answers_ping(free_port())  # nothing listens there


def test_without_redis_server_the_scenario_is_skipped_unless_in_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    assert find_redis_server() is None
    monkeypatch.setenv("CI", "true")
    with pytest.raises(SystemExit, match="the redis scenario needs redis-server"):
        find_redis_server()
    assert "apt-get install redis-server" in MISSING
    found = tmp_path / "redis-server"
    found.write_text("#!/bin/sh\n")
    found.chmod(0o755)
    assert find_redis_server() == str(found)
