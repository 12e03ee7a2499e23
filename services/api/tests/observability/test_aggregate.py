"""Worker metrics summed into one exposition, read from real unix sockets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from stock_ticker.observability.aggregate import END, WorkerMetrics, merge
from stock_ticker.observability.metrics import Metrics

Values = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def values(text: str | bytes) -> Values:
    text = text.decode() if isinstance(text, bytes) else text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str | bytes, name: str, **labels: str) -> float:
    return values(text)[name, tuple(sorted(labels.items()))]


def worker(ndays: int, seconds: float, misses: int) -> Metrics:
    metrics = Metrics()
    for _ in range(ndays):
        metrics.requests.observe("GET", "/ndays", 200, seconds)
    metrics.requests.cache["miss"] += misses
    metrics.count_upstream("success")
    return metrics


def test_counters_and_histograms_are_summed_and_label_sets_united() -> None:
    one, two = worker(3, 0.002, 1), worker(2, 0.3, 4)
    two.requests.observe("GET", "/healthz", 200, 0.0001)  # only in the second
    two.requests.in_progress["GET"] += 2
    merged = merge([one.exposition().decode(), two.exposition().decode()])

    ndays = {"method": "GET", "route": "/ndays"}
    assert value(merged, "http_requests_total", **ndays, status="200") == 5
    assert value(merged, "http_requests_total", route="/healthz", method="GET", status="200") == 1
    assert value(merged, "http_request_duration_seconds_bucket", **ndays, le="0.0025") == 3
    assert value(merged, "http_request_duration_seconds_bucket", **ndays, le="0.5") == 5
    assert value(merged, "http_request_duration_seconds_count", **ndays) == 5
    assert value(merged, "http_request_duration_seconds_sum", **ndays) == pytest.approx(0.606)
    assert value(merged, "stock_api_cache_miss_total") == 5
    assert value(merged, "stock_api_upstream_requests_total", outcome="success") == 2
    assert value(merged, "stock_api_upstream_requests_total", outcome="UpstreamTimeout") == 0
    assert value(merged, "http_requests_in_progress", method="GET") == 2
    assert value(merged, "stock_api_upstream_budget_remaining_calls") == float("inf")


def test_gauges_whose_sum_means_nothing_are_combined_otherwise() -> None:
    texts = [
        'process_start_time_seconds 100.0\npython_info{version="3.13.16"} 1.0\n'
        "process_resident_memory_bytes 10.0\nstock_api_shared_store_up 1.0\n",
        'process_start_time_seconds 90.0\npython_info{version="3.13.16"} 1.0\n'
        "process_resident_memory_bytes 15.0\nstock_api_shared_store_up 0.0\n",
    ]
    merged = merge(texts)
    assert value(merged, "process_start_time_seconds") == 90  # the earliest
    assert value(merged, "python_info", version="3.13.16") == 1
    assert value(merged, "process_resident_memory_bytes") == 25
    assert value(merged, "stock_api_shared_store_up") == 0, "down for one worker: down"


def test_one_exposition_comes_back_as_it_was() -> None:
    metrics = worker(4, 0.01, 2)
    own = metrics.exposition()
    assert values(merge([own.decode()])) == values(own)
    assert merge([own.decode()]).count(b"# TYPE") == own.count(b"# TYPE")


async def raw_server(
    path: Path, answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]
) -> asyncio.Server:
    return await asyncio.start_unix_server(answer, path=path)  # type: ignore[arg-type]


async def test_each_worker_answers_with_the_sum_of_all(tmp_path: Path) -> None:
    metrics = [worker(1, 0.001, 0), worker(2, 0.001, 0), worker(3, 0.001, 0)]
    paths = [tmp_path / f"worker-{i}.sock" for i in range(3)]
    workers = [
        WorkerMetrics(m.exposition, paths[i], [p for p in paths if p != paths[i]])
        for i, m in enumerate(metrics)
    ]
    for w in workers:
        await w.start()
    try:
        for w in workers:
            text = await w.render()
            assert (
                value(text, "http_requests_total", method="GET", route="/ndays", status="200") == 6
            )
        metrics[2].requests.observe("GET", "/ndays", 200, 0.001)  # read live, at each scrape
        text = await workers[0].render()
        assert value(text, "http_requests_total", method="GET", route="/ndays", status="200") == 7
    finally:
        for w in workers:
            await w.stop()


async def test_a_sibling_that_goes_away_counts_with_its_last_exposition(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    own, sibling = worker(1, 0.001, 0), worker(5, 0.001, 0)
    mine, theirs = tmp_path / "worker-0.sock", tmp_path / "worker-1.sock"
    reader = WorkerMetrics(own.exposition, mine, [theirs])
    server = WorkerMetrics(sibling.exposition, theirs, [mine])
    await server.start()
    first = await reader.render()
    await server.stop()
    sibling.requests.observe("GET", "/ndays", 200, 0.001)  # never seen: it is not answering
    with caplog.at_level(logging.WARNING, "stock_ticker.observability.aggregate"):
        second = await reader.render()
    ndays = {"method": "GET", "route": "/ndays", "status": "200"}
    assert value(first, "http_requests_total", **ndays) == 6
    assert value(second, "http_requests_total", **ndays) == 6, "never lower than it was"
    assert "worker metrics unreadable; counting its last" in caplog.text


async def test_a_sibling_never_seen_is_left_out_until_it_answers(tmp_path: Path) -> None:
    own = worker(2, 0.001, 0)
    reader = WorkerMetrics(own.exposition, tmp_path / "a.sock", [tmp_path / "b.sock"])
    text = await reader.render()
    assert value(text, "http_requests_total", method="GET", route="/ndays", status="200") == 2


async def test_a_cut_off_exposition_is_not_counted(tmp_path: Path) -> None:
    """A sibling killed mid-write: without its end marker, the last whole one counts instead."""
    own, sibling = worker(1, 0.001, 0), worker(3, 0.001, 0)
    path = tmp_path / "b.sock"
    whole = True

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = sibling.exposition()
        # Cut at a line end: what is left still parses, with series missing.
        writer.write(data + END if whole else data[: data.index(b"# HELP stock_api")])
        await writer.drain()
        writer.close()

    server = await raw_server(path, answer)
    try:
        reader = WorkerMetrics(own.exposition, tmp_path / "a.sock", [path])
        first = await reader.render()
        whole = False
        sibling.count_upstream("success")
        second = await reader.render()
    finally:
        server.close()
    assert value(first, "stock_api_upstream_requests_total", outcome="success") == 2
    assert value(second, "stock_api_upstream_requests_total", outcome="success") == 2


async def test_a_sibling_that_does_not_answer_in_time_is_not_waited_for(tmp_path: Path) -> None:
    own = worker(1, 0.001, 0)
    path = tmp_path / "b.sock"
    release = asyncio.Event()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    server = await raw_server(path, hang)
    try:
        reader = WorkerMetrics(own.exposition, tmp_path / "a.sock", [path], timeout=0.05)
        text = await reader.render()
    finally:
        release.set()
        server.close()
    assert value(text, "http_requests_total", method="GET", route="/ndays", status="200") == 1


async def test_stop_before_start_is_harmless(tmp_path: Path) -> None:
    await WorkerMetrics(Metrics().exposition, tmp_path / "a.sock", []).stop()


async def test_metrics_render_is_this_process_alone_unless_aggregated() -> None:
    metrics = worker(2, 0.001, 0)
    body, content_type = await metrics.render()
    assert value(body, "http_requests_total", method="GET", route="/ndays", status="200") == 2
    assert content_type.startswith("text/plain; version=")

    async def everyone() -> bytes:
        return b"summed"

    metrics.aggregate_with(everyone)
    assert (await metrics.render())[0] == b"summed"
