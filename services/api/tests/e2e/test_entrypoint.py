"""`python -m stock_ticker` as a module: nothing happens at import, bad config exits 2."""

from __future__ import annotations

import importlib
import sys

import pytest
import uvloop

from tests.conftest import API_KEY


def test_importing_the_entry_point_starts_nothing() -> None:
    module = importlib.import_module("stock_ticker.__main__")
    assert callable(module.main)


def test_main_reports_a_bad_variable_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from stock_ticker.__main__ import main

    assert main({"NDAYS": "seven", "STOCKS_API_KEY": API_KEY}) == 2
    err = capsys.readouterr().err
    assert err == "stock-ticker: NDAYS: invalid value; expected an integer from 1 to 100\n"


def test_uvloop_when_installed_else_the_standard_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    from stock_ticker.__main__ import _loop_factory

    assert _loop_factory() is uvloop.new_event_loop
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as on a platform without its wheels
    assert _loop_factory() is None
