"""The report as JSON, and back into the result types.

`decode_as` reads a JSON value into a dataclass by its type hints: dataclasses, lists, tuples,
dicts with string keys, optional values, `Path` and the scalars, which is all results.py uses.
It is strict about what it does not know (an unknown key, a wrong type) so that a renamed field
fails in the tests on recorded reports rather than as a silently missing figure; a key the
JSON lacks takes the field's default, which is how reports written before a field existed read.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from bench.paths import shown
from bench.results import Report

T = TypeVar("T")


def encode(report: Report) -> str:
    return json.dumps(dataclasses.asdict(report), indent=1, default=scalar_text) + "\n"


def scalar_text(value: object) -> str:
    """Paths relative to the repository where they are inside it; anything else as text."""
    return shown(value) if isinstance(value, Path) else str(value)


def load_report(text: str) -> Report:
    return decode_as(Report, json.loads(text))


def decode_as(kind: type[T], value: object) -> T:
    decoded = _decode(kind, value, kind.__name__)
    assert isinstance(decoded, kind)
    return decoded


def _decode(hint: Any, value: object, where: str) -> object:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass(hint, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = (arg for arg in args if arg is not type(None))
        return _decode(inner, value, where)
    if origin is list:
        items = _expect(list, value, where)
        return [_decode(args[0], item, f"{where}[{i}]") for i, item in enumerate(items)]
    if origin is tuple:
        items = _expect(list, value, where)
        kinds = [args[0]] * len(items) if args[-1] is Ellipsis else list(args)
        if len(kinds) != len(items):
            raise ValueError(f"{where}: {len(items)} items, expected {len(kinds)}")
        return tuple(
            _decode(k, item, f"{where}[{i}]")
            for i, (k, item) in enumerate(zip(kinds, items, strict=True))
        )
    if origin is dict:
        entries = _expect(dict, value, where)
        return {
            _expect(str, k, where): _decode(args[1], v, f"{where}.{k}") for k, v in entries.items()
        }
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is Path:
        return Path(_expect(str, value, where))
    if hint in (int, str, bool) and type(value) is hint:
        return value
    raise ValueError(f"{where}: {value!r} is not a {getattr(hint, '__name__', hint)}")


def _dataclass(kind: type[Any], value: object, where: str) -> object:
    entries = _expect(dict, value, where)
    known = {f.name: f for f in dataclasses.fields(kind)}
    unknown = sorted(set(entries) - set(known))
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}")
    hints = typing.get_type_hints(kind)
    arguments = {}
    for name, spec in known.items():
        if name in entries:
            arguments[name] = _decode(hints[name], entries[name], f"{where}.{name}")
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            raise ValueError(f"{where}: no {name!r}")
    return kind(**arguments)


def _expect(kind: type[T], value: object, where: str) -> T:
    if not isinstance(value, kind):
        raise ValueError(f"{where}: {value!r} is not a {kind.__name__}")
    return value
