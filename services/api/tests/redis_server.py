"""Real `redis-server` processes the tests start themselves, on free ports, with pytest-redis's
executor (never a system service). Without the binary the tests skip, or fail under CI=true,
where .ci/run installs it."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio
from pytest_redis.executor import RedisExecutor

from tests.e2e.conftest import free_port

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_redis_server() -> str:
    """Path of redis-server; a missing one fails the test under CI=true and skips it elsewhere."""
    found = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.access(p, os.X_OK)),
        None,
    )
    if found:
        return found
    message = "redis-server is not installed (.ci/run installs it)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


class RedisServer:
    """One redis-server with its data (AOF on) in `directory`; it can be killed, stopped
    (SIGSTOP: it hangs with its connections open) and started again on the same port."""

    def __init__(self, directory: Path, password: str | None = None) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._executor = RedisExecutor(
            require_redis_server(),
            databases=1,
            redis_timeout=0,
            loglevel="warning",
            host="127.0.0.1",
            port=self.port,
            datadir=directory,
            appendonly="yes",
            password=password,
        )
        self._password = password

    def start(self) -> None:
        self._executor.start()

    def stop(self) -> None:
        """SIGTERM: it writes its AOF and exits (the next start reads it back)."""
        self._executor.stop()

    def kill(self) -> None:
        """SIGKILL: connections are refused until it is started again."""
        self._executor.kill(sig=signal.SIGKILL)

    def pause(self) -> None:
        """SIGSTOP: connections are accepted, no command is ever answered."""
        os.kill(self._pid(), signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self._pid(), signal.SIGCONT)

    def _pid(self) -> int:
        process = self._executor.process
        assert process is not None, "the server is not running"
        return process.pid

    def client(self) -> redis.asyncio.Redis:
        return redis.asyncio.Redis.from_url(self.url, password=self._password)

    def close(self) -> None:
        if self._executor.running():
            self.resume()  # a stopped process cannot be stopped politely
            self._executor.stop()


@pytest.fixture(scope="session")
def redis_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.close()


@pytest.fixture
async def redis_url(redis_session: RedisServer) -> AsyncIterator[str]:
    """The session's server, emptied for this test."""
    client = redis_session.client()
    await client.flushall()
    yield redis_session.url
    await client.aclose()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of this test's own, to kill, stop and restart."""
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.close()
