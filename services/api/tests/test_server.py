"""Raising the open-files limit at start, and what happens where the kernel refuses it."""

from __future__ import annotations

import logging
import resource

import pytest

from stock_ticker import server


def test_a_refused_raise_keeps_the_limit_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (256, resource.RLIM_INFINITY))

    def refuse(_which: int, _limits: tuple[int, int]) -> None:
        raise ValueError("current limit exceeds maximum limit")  # macOS with an unlimited hard

    monkeypatch.setattr(resource, "setrlimit", refuse)
    with caplog.at_level(logging.INFO, logger="stock_ticker.server"):
        server.raise_open_files_limit()  # no traceback, no exit
    (record,) = caplog.records
    assert (record.message, record.soft, record.was) == ("open files limit", 256, 256)  # type: ignore[attr-defined]
