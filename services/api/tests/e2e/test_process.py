"""The real process against a fake upstream on a real port: statuses, single flight, TTL,
shutdown, configuration errors, and that the key never leaks."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import API_KEY, live_env
from tests.support.fake_upstream import FakeAlphaVantage, Reply
from tests.support.fixtures import ServiceFactory
from tests.support.processes import free_port
from tests.support.upstream_texts import BAD_KEY_BODY, DAILY_LIMIT_BODY, INVALID_CALL_BODY

Upstream = tuple[FakeAlphaVantage, str]
#: A child started with a bare environment still reports its coverage (`patch = subprocess`).
_COVERAGE_ENV = {k: v for k, v in os.environ.items() if k.startswith("COVERAGE")}


async def test_every_status_through_the_real_process_and_no_key_anywhere(
    start_service: ServiceFactory, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    fake.script("UNKN", Reply(INVALID_CALL_BODY))
    fake.script("BADK", Reply(BAD_KEY_BODY))
    fake.script("THRO", Reply(DAILY_LIMIT_BODY))
    fake.script("AAPL", Reply(stall=True))
    service = await start_service(live_env(host))
    # A timeout holds off every call of its process, like the throttle: one process each.
    service_no_wildcard = await start_service(
        live_env(
            host,
            ALLOWED_SYMBOLS="AAPL",
            UPSTREAM_TIMEOUT_SECONDS="0.3",
            UPSTREAM_DEADLINE_SECONDS="0.5",
        )
    )
    cases = [
        (service.url, "GET", "/ndays", 200),
        (service.url, "GET", "/ndays?ndays=abc", 400),
        (service_no_wildcard.url, "GET", "/ndays?symbol=IBM", 403),
        (service.url, "GET", "/ndays?symbol=UNKN", 404),
        (service.url, "GET", "/nope", 404),
        (service.url, "POST", "/ndays", 405),
        (service.url, "GET", "/ndays?symbol=BADK", 502),
        (service_no_wildcard.url, "GET", "/ndays?symbol=AAPL", 504),
        (service.url, "GET", "/ndays?symbol=THRO", 503),  # last: a throttle holds off all calls
        (service.url, "GET", "/metrics", 200),
    ]
    seen: list[str] = []
    async with aiohttp.ClientSession() as session:
        for base, method, path, status in cases:
            async with session.request(method, base + path) as response:
                text = await response.text()
                assert response.status == status, (path, text)
                assert "X-Request-ID" in response.headers
                if status >= 400:
                    assert response.content_type == "application/problem+json"
                    assert json.loads(text)["status"] == status
                seen.append(text + str(response.headers))
    logs = service.output() + service_no_wildcard.output()
    entries = [json.loads(line) for line in logs.splitlines()]  # every line is one JSON object
    assert "DEBUG" in {entry["level"] for entry in entries}
    assert API_KEY not in "".join(seen)
    assert API_KEY not in logs
    access = [entry for entry in entries if entry["logger"] == "stock_ticker.access"]
    assert {entry["status"] for entry in access} >= {200, 400, 403, 404, 405, 502, 503, 504}
    assert all({"method", "route", "duration_ms", "request_id", "cache"} <= set(e) for e in access)


async def test_single_flight_and_ttl_in_the_real_process(
    start_service: ServiceFactory, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    gate = asyncio.Event()
    fake.script("MSFT", Reply(gate=gate))
    service = await start_service(live_env(host, API_REFRESH_FREQUENCY_MINUTES="0.02"))  # 1.2 s
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def get() -> tuple[int, str]:
            async with session.get(f"{service.url}/ndays") as response:
                await response.read()
                return response.status, response.headers["X-Cache"]

        requests = [asyncio.ensure_future(get()) for _ in range(100)]
        await fake.arrived.wait()  # the one upstream call is held at the gate
        released = time.monotonic()  # the entry is stored after this, never before
        gate.set()
        results = await asyncio.gather(*requests)
        assert {status for status, _ in results} == {200}
        # Requests that reached the app after the refresh landed are plain hits.
        assert {cache for _, cache in results} <= {"MISS", "HIT"}
        assert (200, "MISS") in results
        assert fake.total_calls == 1
        assert await get() == (200, "HIT")
        cache = "HIT"
        while cache == "HIT":  # the entry expires on its own after the TTL
            await asyncio.sleep(0.05)
            _status, cache = await get()
        assert cache == "MISS"
        assert time.monotonic() - released >= 1.2  # not before the TTL
        assert fake.total_calls == 2


async def test_sigterm_drains_then_exits_zero(
    start_service: ServiceFactory, fake_upstream: Upstream
) -> None:
    _, host = fake_upstream
    service = await start_service(live_env(host, SHUTDOWN_DRAIN_SECONDS="1"))
    async with aiohttp.ClientSession() as session:
        service.signal(signal.SIGTERM)
        while True:  # readiness flips at once...
            async with session.get(f"{service.url}/readyz") as ready:
                if ready.status == 503:
                    break
        async with session.get(f"{service.url}/ndays") as response:
            assert response.status == 200  # ...while requests are still served
        started = time.monotonic()
    assert await service.wait_exit(timeout=10) == 0
    assert time.monotonic() - started < 5
    logs = service.output()
    entries = [json.loads(line) for line in logs.splitlines()]
    lifecycle = [e["message"] for e in entries if e["logger"] == "stock_ticker.server"]
    assert lifecycle == [
        "open files limit",
        "listening",
        "SIGTERM: draining",
        "stopping: finishing requests in flight",
        "stopped",
    ]


async def test_the_soft_open_files_limit_is_raised_to_the_hard_one(
    start_service: ServiceFactory,
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowered = min(soft, 256)
    service = await start_service(
        {}, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (lowered, hard))
    )
    service.signal(signal.SIGINT)
    assert await service.wait_exit(timeout=10) == 0
    entries = [json.loads(line) for line in service.output().splitlines()]
    (limit,) = [e for e in entries if e["message"] == "open files limit"]
    assert (limit["was"], limit["soft"]) == (lowered, hard)


async def test_sigint_skips_the_drain(start_service: ServiceFactory) -> None:
    service = await start_service({"SHUTDOWN_DRAIN_SECONDS": "30"})
    started = time.monotonic()
    service.signal(signal.SIGINT)
    assert await service.wait_exit(timeout=10) == 0
    assert time.monotonic() - started < 5
    assert "draining" not in service.output()


async def test_sample_mode_warns_and_serves_every_bundled_symbol(
    start_service: ServiceFactory,
) -> None:
    service = await start_service({"ALLOWED_SYMBOLS": "", "SYMBOL": ""})
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{service.url}/ndays?ndays=3") as response:
            body = await response.json()
        assert (body["symbol"], body["source"], body["ndays"]) == ("MSFT", "sample", 3)
        assert body["last_refreshed"] == "2013-03-01"
        for symbol in ("AAPL", "FB", "GOOG", "IBM"):  # no ALLOWED_SYMBOLS needed
            async with session.get(f"{service.url}/ndays?symbol={symbol.lower()}") as response:
                assert response.status == 200, await response.text()
                assert (await response.json())["symbol"] == symbol
        async with session.get(f"{service.url}/ndays?symbol=TSLA") as response:
            assert response.status == 404
            problem = await response.json()
    assert problem["detail"] == "the sample data has no TSLA; available: AAPL, FB, GOOG, IBM, MSFT"
    output = service.output()
    assert "serving the bundled sample data" in output
    assert "real daily prices of AAPL, FB, GOOG, IBM, MSFT, ending 2013-03-01" in output


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NDAYS", "0"),
        ("PORT", "http"),
        ("API_REFRESH_FREQUENCY_MINUTES", "-1"),
        ("SYMBOL", "not a symbol"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_configuration_exits_2_with_one_line(variable: str, value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stock_ticker"],
        env={**_COVERAGE_ENV, "PATH": "/usr/bin:/bin", variable: value, "STOCKS_API_KEY": API_KEY},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert variable in lines[0]
    assert "expected" in lines[0]
    assert "Traceback" not in result.stderr
    assert API_KEY not in result.stderr


async def test_log_level_above_info_silences_the_access_log(start_service: ServiceFactory) -> None:
    service = await start_service({"LOG_LEVEL": "WARNING"})
    async with aiohttp.ClientSession() as session:
        for path in ("/ndays", "/healthz", "/nope"):
            async with session.get(service.url + path) as response:
                await response.read()
    service.signal(signal.SIGINT)
    assert await service.wait_exit(timeout=10) == 0
    levels = {json.loads(line)["level"] for line in service.output().splitlines()}
    assert levels == {"WARNING"}  # the sample-data warning, and no INFO or access lines


def _start_failing(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stock_ticker"],
        env={**_COVERAGE_ENV, "PATH": "/usr/bin:/bin", "STOCKS_API_KEY": API_KEY, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("running_workers", "workers"),
    [("1", "1"), ("1", "2"), ("2", "2")],
    ids=["process-on-process", "workers-on-process", "workers-on-workers"],
)
async def test_a_port_in_use_exits_2_with_one_line_naming_port(
    start_service: ServiceFactory, running_workers: str, workers: str
) -> None:
    """Workers on workers too: both sets listen with SO_REUSEPORT, and without the supervisor's
    own check the second set would share the port with the first without a word."""
    running = await start_service({"WEB_CONCURRENCY": running_workers})
    env = {"HOST": "127.0.0.1", "PORT": str(running.port), "WEB_CONCURRENCY": workers}
    result = _start_failing(env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"stock-ticker: PORT: cannot listen on 127.0.0.1:{running.port} (address already in use)"
    ]
    assert '"message":"supervising workers"' not in result.stdout  # none was started
    assert API_KEY not in result.stdout + result.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("host", ["999.1.1.1", "192.0.2.1"], ids=["unresolvable", "not-ours"])
def test_a_bad_host_exits_2_with_one_line_naming_host(host: str, workers: str) -> None:
    port = free_port()
    result = _start_failing({"HOST": host, "PORT": str(port), "WEB_CONCURRENCY": workers})
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"stock-ticker: HOST: cannot listen on {host}:{port} (")
    assert "Traceback" not in result.stderr


async def test_a_request_the_parser_rejects_logs_one_warning_without_a_traceback(
    start_service: ServiceFactory,
) -> None:
    service = await start_service({})
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 17_000 + b"\r\n\r\n")
    await writer.drain()
    status = await reader.readline()
    assert status.startswith(b"HTTP/1.0 400")  # aiohttp's parser answers before the app
    writer.close()
    await writer.wait_closed()
    service.signal(signal.SIGINT)
    assert await service.wait_exit(timeout=10) == 0
    output = service.output()
    assert "Traceback" not in output
    rejected = [json.loads(line) for line in output.splitlines() if "malformed" in line]
    assert len(rejected) == 1
    assert rejected[0]["level"] == "WARNING"
    assert rejected[0]["logger"] == "aiohttp.server"
    assert rejected[0]["message"].startswith("rejected a malformed request: LineTooLong: ")


async def test_log_lines_look_like_the_readme_says(start_service: ServiceFactory) -> None:
    readme = (Path(__file__).resolve().parents[4] / "README.md").read_text()
    line = next(x for x in readme.splitlines() if x.startswith('{"time":') and "access" in x)
    example = json.loads(line)
    service = await start_service({"LOG_LEVEL": "INFO"})
    async with aiohttp.ClientSession() as session, session.get(f"{service.url}/ndays") as answer:
        assert answer.status == 200
    service.signal(signal.SIGINT)
    assert await service.wait_exit(timeout=10) == 0
    lines = service.output().splitlines()
    assert all(not line.startswith(" ") and '": ' not in line for line in lines)  # compact
    entries = [json.loads(line) for line in lines]
    access = next(e for e in entries if e["logger"] == "stock_ticker.access")
    assert list(access) == list(example)
    for entry in entries:
        assert list(entry)[:4] == ["time", "level", "logger", "message"]
