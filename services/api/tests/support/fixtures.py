"""The pytest fixtures over the support package: the real service process, the switchable fake
upstream, redis-server. tests/conftest.py registers this module as a plugin, so every folder's
tests get them without importing another folder's conftest."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .fake_upstream import SwitchableUpstream
from .processes import ServerProcess, service_process
from .redis_server import RedisServer

ServiceFactory = Callable[..., Awaitable[ServerProcess]]  # (env, **Popen options)


@pytest.fixture
async def start_service(tmp_path: Path) -> AsyncIterator[ServiceFactory]:
    """`await start_service(env)`: the real `python -m stock_ticker`, ready; stopped at the end."""
    started: list[ServerProcess] = []

    async def start(env: dict[str, str], **popen: Any) -> ServerProcess:
        service = service_process(env, tmp_path / f"service-{len(started)}.log", **popen)
        started.append(service)
        await service.start_async()
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
async def switchable_upstream() -> AsyncIterator[SwitchableUpstream]:
    upstream = SwitchableUpstream()
    await upstream.start()
    yield upstream
    if upstream.running:
        await upstream.stop()


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
