"""A client generated from `/openapi.json` by a real generator works against the real process:
the document is complete enough to drive code, and its operation ids name the functions."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.fixtures import ServiceFactory

PACKAGE = "stock_ticker_client"


async def _generate(url: str, into: Path) -> Any:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/openapi.json") as answer:
        assert answer.status == 200
        (into / "openapi.json").write_bytes(await answer.read())
    bin_dir = str(Path(sys.executable).parent)  # the generator formats its output with ruff
    subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--meta",
            "none",
            "--path",
            str(into / "openapi.json"),
            "--output-path",
            str(into / PACKAGE),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")},
        timeout=120,
    )
    sys.path.insert(0, str(into))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(into))


async def test_a_generated_client_gets_prices_and_a_problem(
    start_service: ServiceFactory, tmp_path: Path
) -> None:
    service = await start_service({"ENABLE_METRICS": "true"})
    client_package = await _generate(service.url, tmp_path)
    get_ndays = importlib.import_module(f"{PACKAGE}.api.prices.get_ndays")
    models = importlib.import_module(f"{PACKAGE}.models")
    async with client_package.Client(base_url=service.url) as client:
        ok = await get_ndays.asyncio_detailed(client=client, symbol="MSFT", ndays=3)
        bad = await get_ndays.asyncio_detailed(client=client, ndays=500)
    assert ok.status_code == 200
    assert isinstance(ok.parsed, models.NdaysResponse)
    assert (ok.parsed.symbol, ok.parsed.ndays, len(ok.parsed.daily_data)) == ("MSFT", 3, 3)
    assert ok.headers["X-Cache"] in {"MISS", "HIT"}
    assert bad.status_code == 400
    assert isinstance(bad.parsed, models.Problem)
    assert bad.parsed.status == 400
    assert bad.parsed.type_ == "urn:stock-ticker:problem:invalid-parameter"
    assert [p.name for p in bad.parsed.invalid_params] == ["ndays"]
    for name in ("get_healthz", "get_readyz", "get_metrics"):
        importlib.import_module(f"{PACKAGE}.api.operations.{name}")
    sys.modules.pop(PACKAGE, None)
