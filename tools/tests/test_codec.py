"""Reports read back into the result types, and the JSON written keeps every recorded figure."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.codec import decode_as, encode, load_report, scalar_text
from bench.paths import DOCS_JSON, DOCS_MD
from bench.results import LoadAverage, Report
from tests.recorded import FIXTURES, RECORDED


def leaves(value: object, path: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, f"{path}[{i}]")
    else:
        yield path, value


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


@pytest.mark.parametrize("name", RECORDED)
def test_a_recorded_report_is_written_back_with_every_figure(name: str) -> None:
    text = (FIXTURES / f"{name}.json").read_text()
    written = dict(leaves(json.loads(encode(load_report(text)))))
    for path, value in leaves(json.loads(text)):
        assert path in written, path
        assert same(written[path], value), (path, written[path], value)


@pytest.mark.parametrize("name", RECORDED)
def test_a_report_reads_back_equal_to_itself(name: str) -> None:
    report = load_report((FIXTURES / f"{name}.json").read_text())
    assert load_report(encode(report)) == report


def test_keys_a_report_did_not_have_yet_take_their_defaults(full_run: Report) -> None:
    assert full_run.options.only[0] == "warm"  # recorded before --only existed
    assert full_run.options.service_src is None
    assert full_run.failure is None
    assert full_run.options.compare_src is None
    assert full_run.older is None
    assert full_run.targets_issue12 == []


@pytest.mark.skipif(not DOCS_JSON.is_file(), reason="no docs/benchmarks.json")
def test_the_report_in_docs_reads() -> None:
    """The conditional scenario compares with it, and --before reads files like it."""
    report = load_report(DOCS_JSON.read_text())
    assert report.warm is None or "service:ndays" in report.warm


@dataclass(frozen=True)
class Sample:
    count: int
    ratio: float
    pair: tuple[float, float]
    names: list[str] = field(default_factory=list)
    where: Path | None = None


def test_values_are_converted_to_the_hinted_types() -> None:
    sample = decode_as(Sample, {"count": 3, "ratio": 1, "pair": [1, 2.5], "where": "/srv/x"})
    assert sample == Sample(3, 1.0, (1.0, 2.5), [], Path("/srv/x"))
    assert isinstance(sample.ratio, float)
    assert decode_as(LoadAverage, {"before": [1, 2, 3], "after": [0.5, 0.5, 0.5]}).before == (
        1.0,
        2.0,
        3.0,
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"count": 3, "ratio": 1.0, "pair": [1, 2], "extra": 1},
            r"Sample: unknown keys \['extra'\]",
        ),
        ({"ratio": 1.0, "pair": [1, 2]}, "Sample: no 'count'"),
        ({"count": "3", "ratio": 1.0, "pair": [1, 2]}, "Sample.count: '3' is not a int"),
        ({"count": True, "ratio": 1.0, "pair": [1, 2]}, "Sample.count: True is not a int"),
        ({"count": 3, "ratio": 1.0, "pair": [1, 2, 3]}, "Sample.pair: 3 items, expected 2"),
        ({"count": 3, "ratio": 1.0, "pair": [1, 2], "names": [1]}, r"Sample.names\[0\]: 1"),
    ],
)
def test_what_the_types_do_not_allow_is_an_error_naming_where(
    value: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        decode_as(Sample, value)


def test_paths_inside_the_repository_are_written_relative_to_it(tmp_path: Path) -> None:
    written = json.loads(json.dumps({"md": DOCS_MD, "elsewhere": tmp_path}, default=scalar_text))
    assert written == {"md": "docs/benchmarks.md", "elsewhere": str(tmp_path)}
