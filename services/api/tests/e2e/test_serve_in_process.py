"""`serve()` in this process, where its effect on the interpreter can be seen."""

from __future__ import annotations

import asyncio
import gc
import os
import signal

import aiohttp

from stock_ticker.app import create_app
from stock_ticker.config import load_settings
from stock_ticker.server import serve
from tests.e2e.conftest import free_port


async def test_start_up_objects_are_frozen_out_of_garbage_collection() -> None:
    port = free_port()
    settings = load_settings({"HOST": "127.0.0.1", "PORT": str(port)})
    gc.unfreeze()
    server = asyncio.create_task(serve(create_app(settings), settings))
    try:
        async with aiohttp.ClientSession() as session:
            while True:  # until the listener is up; serve() freezes just before it says so
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        assert response.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.01)
        assert gc.get_freeze_count() > 10_000  # modules, schemas, routes, the OpenAPI document
    finally:
        os.kill(os.getpid(), signal.SIGINT)  # serve()'s handler takes it and stops
        await asyncio.wait_for(server, timeout=15)
        gc.unfreeze()
