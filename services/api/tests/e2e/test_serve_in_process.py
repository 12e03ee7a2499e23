"""`serve()` in this process, where its effect on the interpreter can be seen."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from collections.abc import Iterator

import aiohttp
import pytest

from stock_ticker.app import create_app
from stock_ticker.config import load_settings
from stock_ticker.server import serve
from tests.support.processes import free_port


class _Listening(logging.Handler):
    """Sets `event` when serve() says it is listening, which it says right after freezing."""

    def __init__(self) -> None:
        super().__init__()
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "listening":
            self.event.set()


@pytest.fixture
def listening() -> Iterator[_Listening]:
    logger = logging.getLogger("stock_ticker.server")
    handler, level = _Listening(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


async def test_start_up_objects_are_frozen_out_of_garbage_collection(
    listening: _Listening,
) -> None:
    port = free_port()
    settings = load_settings({"HOST": "127.0.0.1", "PORT": str(port)})
    gc.unfreeze()
    server = asyncio.create_task(serve(create_app(settings), settings))
    try:
        await asyncio.wait_for(listening.event.wait(), timeout=15)
        assert gc.get_freeze_count() > 10_000  # modules, schemas, routes, the OpenAPI document
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            assert response.status == 200
    finally:
        os.kill(os.getpid(), signal.SIGINT)  # serve()'s handler takes it and stops
        await asyncio.wait_for(server, timeout=15)
        gc.unfreeze()
