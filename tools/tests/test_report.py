"""docs/benchmarks.md as rendered from recorded reports."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from bench.cli import read_before
from bench.judging import judged
from bench.report import NOTES_MARKER, TEMPLATES, kept_notes, render
from bench.results import Before, ComparedLoad, Report, SharedStore
from tests.recorded import ETAG, FIXTURES, RECORDED, recorded, with_conditional, with_twin


@pytest.mark.parametrize("name", RECORDED)
def test_a_recorded_report_renders_as_recorded(name: str) -> None:
    """The goldens were checked against what the single-file harness wrote for the same JSON:
    they differ only in naming `make bench` (tools/bench) and in one sentence's place."""
    text = render(judged(recorded(name)), "")
    golden = FIXTURES / f"{name}.md"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_every_placeholder_is_filled(
    full_run: Report, issue9_run: Report, redis_run: Report, compare_run: Report
) -> None:
    assert full_run.warm is not None
    assert redis_run.warm is not None
    assert compare_run.warm is not None
    older_rows = {k: r for k, r in compare_run.warm.items() if k.startswith("older:")}
    with_redis = replace(
        full_run,
        warm={
            **full_run.warm,
            "service-redis:ndays": redis_run.warm["service-redis:ndays"],
            **older_rows,
        },
        shared_store=redis_run.shared_store,
        older=compare_run.older,
    )
    everything = replace(
        with_conditional(with_twin(with_redis, 1.0, 1.0), cpu_304=30.0),
        failure=issue9_run.failure,
        abandoned=issue9_run.abandoned,
        before=Before(
            date=issue9_run.date,
            command=issue9_run.command,
            machine=issue9_run.machine,
            options=issue9_run.options,
            path="before.json",
            failure=issue9_run.failure,
            abandoned=issue9_run.abandoned,
        ),
    )
    text = render(judged(everything), "")
    assert "$" not in text
    used = {line.split(" (")[0] for line in text.splitlines() if line.startswith("#")}
    assert {
        "## Targets",
        "## Warm scenarios",
        "## Cold stampede",
        "## Memory",
        "## Start-up",
        "## Issue 9: failing upstream, abandoned clients",
        "### Targets",
        "### Before → after",
        "### First request after expiry with a failing upstream",
        "### Abandoned clients",
        "## Issue 12: conditional requests",
        "## Issue 11: the shared store",
        "### Warm /ndays with REDIS_URL set",
        "### Cold stampede across 3 processes",
        "## Against the code at .older/services/api",
    } <= used
    assert sorted(p.stem for p in TEMPLATES.glob("*.md")) == sorted(
        [
            "abandoned",
            "before_after",
            "conditional",
            "failure",
            "issue11",
            "issue11_skipped",
            "issue11_twin",
            "issue5_targets",
            "issue9",
            "memory",
            "older",
            "report",
            "stampede",
            "stampede_table",
            "startup",
            "targets",
            "warm",
            "warm_cpu",
            "warm_loads",
            "warm_older",
            "warm_shared",
            "warm_twin",
        ]
    )


def test_the_conditional_section_shows_the_recorded_200_as_context(full_run: Report) -> None:
    text = render(judged(with_conditional(full_run, cpu_304=30.0)), "")
    section = text.split("## Issue 12: conditional requests")[1]
    assert "| 200, recorded at `3c24ea8` (2026-11-29 06:26 UTC) | - | 0.61x | - | 36.9 |" in section
    assert "| 200, this run | 27,109 | 0.61x | 3.91 | 36.9 | 1.00x | 1,231 | 0 |" in section
    assert "| 304, this run | 27,109 | 0.61x | 3.91 | 30.0 | 0.81x | 180 | 0 |" in section
    assert "before the rounds 304, X-Cache HIT, the same ETag, 0 body bytes" in section
    assert "| a 304 costs no more CPU per request than a 200 (same rounds) |" in section
    assert "| warm /ndays, If-None-Match: its ETag (304) | 27,109 | 0.61x |" in text  # warm table
    assert ETAG not in section  # the load's header, not worth a table cell


def test_a_partial_run_says_so_and_shows_only_what_ran(issue9_run: Report) -> None:
    text = render(judged(issue9_run), "")
    assert "- **Scenarios:** only failure, abandoned (`--only`: a partial report)" in text
    assert "## Warm scenarios" not in text
    assert "- **Load:**" not in text
    assert "## Targets (issue 5)" not in text


def test_a_target_not_met_stands_out(full_run: Report) -> None:
    assert full_run.startup is not None
    slow = replace(full_run, startup=replace(full_run.startup, service_median_s=1.5))
    assert "| start-up to ready < 1 s | 1.50 s median, 0.22 s max | **NOT met** |" in render(
        judged(slow), ""
    )


def test_the_before_after_table_pairs_the_same_measurements(issue9_run: Report) -> None:
    before = Before(
        date="2026-12-01 20:52 UTC",
        command="make bench",
        machine=replace(issue9_run.machine, service_commit="e56360f"),
        options=issue9_run.options,
        path="before.json",
        failure=issue9_run.failure,
    )
    text = render(judged(replace(issue9_run, before=before)), "")
    table = text.split("### Before → after")[1].split("###")[0]
    assert "Before: the same scenarios on the service at commit `e56360f`" in table
    assert "| first STALE after expiry, HTTP 500, 1 client | 1.00 s | 1.00 s |" in table
    assert "| abandoned clients, cold symbol: /healthz p99 (max) | - | 3.9 ms (10) |" in table


def test_the_notes_below_the_marker_are_kept(tmp_path: Path, full_run: Report) -> None:
    page = tmp_path / "benchmarks.md"
    assert kept_notes(page) == ""
    page.write_text(f"# old figures\n{NOTES_MARKER}\n## Why\n\nBecause $5 of reasons.\n")
    notes = kept_notes(page)
    assert notes == "## Why\n\nBecause $5 of reasons.\n"
    assert render(judged(full_run), notes).endswith(f"{NOTES_MARKER}\n{notes}")
    page.write_text("# no marker\n")
    assert kept_notes(page) == ""


def test_a_report_saved_by_the_single_file_harness_serves_as_before(issue9_run: Report) -> None:
    text = (FIXTURES / "issue9-quick-83dcb1c.json").read_text()
    before = read_before("saved.json", text)
    assert (before.path, before.date, before.failure) == (
        "saved.json",
        issue9_run.date,
        issue9_run.failure,
    )
    page = render(judged(replace(issue9_run, before=before)), "")
    assert "| first STALE after expiry, HTTP 500, 1 client | 1.00 s | 1.00 s |" in page


def test_the_redis_section_shows_both_services_and_what_the_store_saw(redis_run: Report) -> None:
    text = render(judged(redis_run), "")
    warm = text.split("## Warm scenarios")[1].split("## ")[0]
    assert "| warm /ndays, REDIS_URL set | 7,847 | 1.13x |" in warm  # compared with in-process
    assert 'The row "warm /ndays, REDIS_URL set" is a second service process' in warm
    section = text.split("## Issue 11: the shared store (REDIS_URL)")[1]
    expected = (
        "(redis 7.0.15)",
        "| REDIS_URL set ÷ in-process | 1.13x | - |",
        "- Redis commands in the warm-up and the rounds: 0\n",
        "(X-Cache MISS, MISS, MISS; 3 upstream call(s))",
        "(X-Cache HIT, HIT, HIT; 0 upstream\ncall(s))",
        "| SHARED0 | 3 | 0 | MISS 500 | 151.1 |",
        "| SHARED0 | 298 | 0.6 | del 3, get 116, mget 60, psetex 3, pttl 116 | 160 | 3 |",
        "| cold stampede across 3 processes: exactly one upstream call |",
    )
    assert [line for line in expected if line not in section] == []


def test_with_a_twin_the_redis_section_shows_it_and_the_in_process_mode(
    redis_run: Report,
) -> None:
    text = render(judged(with_twin(redis_run, 0.93, 0.92)), "")
    assert 'The row "warm /ndays, in-process twin" is the in-process service again' in text
    section = text.split("## Issue 11: the shared store (REDIS_URL)")[1]
    expected = (
        "So is a third, the in-process twin",
        "| in-process twin | 6,422 |",
        "| REDIS_URL set ÷ in-process | 0.93x | - |",
        "| in-process twin ÷ in-process | 0.92x | - |",
        "| REDIS_URL set ÷ in-process mode (mean of the two) | 0.97x | - |",
        "| warm /ndays with REDIS_URL set ≥ 0.95x the in-process req/s | 0.97x, medians of "
        "per-round ratios (7,847 against the mean of 6,980 and its twin's 6,422 req/s; by round, "
        "0.93x the first alone, whose twin made 0.92x, same rounds; 0 errors) | met |",
    )
    assert [line for line in expected if line not in section] == []


def test_without_redis_server_the_section_says_why(full_run: Report) -> None:
    skipped = replace(full_run, shared_store=SharedStore(skipped="no redis-server on PATH"))
    section = render(judged(skipped), "").split("## Issue 11: the shared store (REDIS_URL)")[1]
    assert section.startswith("\n\nNot measured in this run: no redis-server on PATH.\n")
    assert "| not measured: no redis-server on PATH | not judged |" in section
    assert "### Cold stampede" not in section


def test_the_older_code_is_set_against_this_code_load_by_load(compare_run: Report) -> None:
    text = render(judged(compare_run), "")
    warm = text.split("## Warm scenarios")[1].split("## ")[0]
    assert "| older code: warm /ndays (defaults) | 9,116 | 0.71x | 6.59 | 19.83 | 1.47x |" in warm
    assert "| warm /ndays (defaults) | 7,697 | 0.60x |" in warm  # both codes x the baseline
    assert 'The rows "older code: …" are a second service process' in warm
    heading = "## Against the code at .older/services/api (commit ca0c6bc)\n"
    section = text.split(heading)[1].split("\n## ")[0]
    assert "(ready in 0.59 s)" in section
    table = section.split("| --- |")[1].split("\n", 1)[1].split("\n\n")[0].splitlines()
    assert table[:3] == [
        "| warm /ndays (defaults) | current (`717a1d0` + uncommitted changes) | 7,697 | 0.60x | "
        "49.82 | 112.5 | 56.9 | 0 |",
        "|  | older (`ca0c6bc`) | 9,116 | 0.71x | 19.83 | 96.1 | 52.2 | 0 |",
        "|  | **current ÷ older** | 0.84x | - | 2.23x | 1.18x | 1.09x | - |",
    ]
    assert table[3].startswith("| /healthz | current (`717a1d0` + uncommitted changes) | 7,466 |")
    assert table[5] == "|  | **current ÷ older** | 0.89x | - | 1.00x | 1.10x | 1.09x | - |"
    left_out = "Not measured on the older code: `ndays-304` (its code sends no ETag)."
    assert section.endswith(f"\n\n{left_out}\n")


def test_the_older_code_outside_git_or_changed_says_so(compare_run: Report) -> None:
    older = compare_run.older
    assert older is not None
    elsewhere = replace(compare_run, older=replace(older, commit=None, not_measured={}))
    text = render(judged(elsewhere), "")
    assert "## Against the code at .older/services/api\n" in text
    assert "|  | older | 9,116 |" in text
    assert "Not measured on the older code" not in text
    changed = replace(compare_run, older=replace(older, dirty_paths=[" M stock_ticker/app.py"]))
    text = render(judged(changed), "")
    assert "(commit ca0c6bc, with uncommitted changes)\n" in text
    assert "|  | older (`ca0c6bc` + uncommitted changes) | 9,116 |" in text


def test_a_304_measured_on_both_codes_has_its_own_lines(compare_run: Report) -> None:
    assert compare_run.warm is not None
    assert compare_run.older is not None
    ndays, older_ndays = compare_run.warm["service:ndays"], compare_run.warm["older:ndays"]
    with_304 = replace(
        compare_run,
        warm={
            **compare_run.warm,
            "service:ndays-304": replace(ndays, title="warm /ndays, 304", rps=9000.0),
            "older:ndays-304": replace(older_ndays, title="older code: warm /ndays, 304"),
        },
        older=replace(
            compare_run.older,
            loads=[
                *compare_run.older.loads,
                ComparedLoad("service:ndays-304", "older:ndays-304", 1.2, 0.9, 0.8, 1.1),
            ],
            not_measured={},
        ),
    )
    section = render(judged(with_304), "").split("## Against the code at")[1].split("\n## ")[0]
    assert "| warm /ndays, 304 | current (`717a1d0` + uncommitted changes) | 9,000 |" in section
    assert section.endswith("|  | **current ÷ older** | 1.20x | - | 0.90x | 0.80x | 1.10x | - |\n")
