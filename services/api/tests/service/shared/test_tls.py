"""`rediss://`: the shared store over TLS, on a real redis-server that speaks TLS only. The
server's certificate is checked (here against its own self-signed one, named by `ssl_ca_certs` in
the URL, as redis-py reads it); a server the client cannot verify is a store that is down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stock_ticker.service import CacheState
from stock_ticker.service.shared.link import SharedStoreDown
from tests.service.replicas import Replicas, link_to
from tests.service.scripted import ScriptedProvider
from tests.support.clock import FakeClock
from tests.support.processes import ServerProcess
from tests.support.redis_server import (
    redis_process,
    require_redis_server,
    self_signed_certificate,
)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    """A redis-server speaking TLS only, and its certificate."""
    certificate, key = self_signed_certificate(tmp_path)
    server = redis_process(
        require_redis_server(), tmp_path, tmp_path / "redis.log", tls=(certificate, key)
    )
    with server:
        yield server, certificate


@pytest.fixture
def redis_url(tls_server: tuple[ServerProcess, Path]) -> str:
    """What `replicas` share here: the TLS server, its certificate trusted."""
    server, certificate = tls_server
    return f"rediss://127.0.0.1:{server.port}/0?ssl_ca_certs={certificate}"


async def test_replicas_share_entries_over_tls(replicas: Replicas, clock: FakeClock) -> None:
    provider = ScriptedProvider()
    (a, metrics), (b, _) = await replicas(provider, 2)
    assert (await a.get("MSFT")).state is CacheState.MISS
    assert (await b.get("MSFT")).state is CacheState.HIT  # read from the shared tier
    assert len(provider.calls) == 1
    assert metrics.registry.get_sample_value("stock_api_shared_store_up") == 1


async def test_a_server_whose_certificate_is_not_trusted_is_never_used(
    tls_server: tuple[ServerProcess, Path],
) -> None:
    server, _ = tls_server
    link = link_to(f"rediss://127.0.0.1:{server.port}/0")  # the system's roots only
    try:
        with pytest.raises(SharedStoreDown) as down:
            await link.run(lambda r: r.ping())
        assert "certificate verify failed" in str(down.value.__cause__)
        assert not link.up
    finally:
        await link.close()
