"""The command line `make bench BENCH_ARGS=...` takes, as it was before the package."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.options import FULL, QUICK, SCENARIO_NAMES, parse_options
from bench.paths import REPO

SERVICE_API = REPO / "services" / "api"


def test_no_arguments_is_a_full_run_that_writes_docs() -> None:
    assert parse_options([]) == FULL
    assert FULL.write
    assert FULL.only == SCENARIO_NAMES


def test_quick_shortens_what_is_not_given() -> None:
    options = parse_options(["--quick", "--rounds", "3", "--no-write"])
    assert options.quick
    assert options.rounds == 3
    assert (options.duration, options.soak_requests, options.abandoned_seconds) == (
        QUICK.duration,
        QUICK.soak_requests,
        QUICK.abandoned_seconds,
    )
    assert not options.write


def test_only_keeps_the_running_order() -> None:
    options = parse_options(["--only", "abandoned, conditional", "--no-write"])
    assert options.only == ("conditional", "abandoned")
    options = parse_options(["--only", "startup,redis,warm", "--no-write"])
    assert options.only == ("warm", "redis", "startup")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--only", "warm,nope", "--no-write"], "--only: unknown ['nope']"),
        (["--only", "warm"], "--only writes a partial report"),
        (["--rounds", "0"], "--rounds must be at least 1"),
        (["--abandoned-patience", "0"], "--abandoned-patience must be positive"),
        (["--before", "/nonexistent/report.json"], "--before: no such file"),
        (["--service-src", "/nonexistent"], "--service-src: no stock_ticker package"),
        (["--compare-src", "/nonexistent"], "--compare-src: no stock_ticker package"),
        (
            ["--only", "failure", "--no-write", "--compare-src", str(SERVICE_API)],
            "--compare-src measures in the warm rounds: --only must include warm",
        ),
    ],
)
def test_what_cannot_run_is_refused_at_once(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_options(argv)
    assert message in capsys.readouterr().err


def test_a_partial_run_may_write_elsewhere(tmp_path: Path) -> None:
    md, js = tmp_path / "b.md", tmp_path / "b.json"
    options = parse_options(["--only", "failure", "--out-md", str(md), "--out-json", str(js)])
    assert (options.write, options.out_md, options.out_json) == (True, md, js)


def test_compare_src_is_another_checkouts_services_api(tmp_path: Path) -> None:
    (tmp_path / "api" / "stock_ticker").mkdir(parents=True)
    given = tmp_path / "api" / ".." / "api"
    options = parse_options(["--only", "warm", "--no-write", "--compare-src", str(given)])
    assert options.compare_src == (tmp_path / "api").resolve()
    assert FULL.compare_src is None
