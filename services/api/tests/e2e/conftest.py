"""Run the real service process (`python -m stock_ticker`) for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

STARTUP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServiceProcess:
    """One `python -m stock_ticker` child with its own port and log file."""

    def __init__(self, env: dict[str, str], log_path: Path, **popen: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        full_env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "LOG_LEVEL": "DEBUG",
            **env,
        }
        full_env.pop("STOCKS_API_KEY", None) if "STOCKS_API_KEY" not in env else None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stock_ticker"],
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            **popen,
        )

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        async with aiohttp.ClientSession() as session:
            while True:
                assert self.proc.poll() is None, self.output()
                try:
                    async with session.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                assert time.monotonic() < deadline, "service did not start"
                await asyncio.sleep(0.05)  # polling for the listener, not hiding a race

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    async def wait_exit(self, timeout: float) -> int:
        return await asyncio.to_thread(self.proc.wait, timeout)

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:  # pragma: no cover - only if shutdown hangs
                self.proc.kill()
                self.proc.wait()
        self._log.close()


ServiceFactory = Callable[..., Awaitable[ServiceProcess]]  # (env, **Popen options)


@pytest.fixture
async def start_service(tmp_path: Path) -> AsyncIterator[ServiceFactory]:
    started: list[ServiceProcess] = []

    async def start(env: dict[str, str], **popen: Any) -> ServiceProcess:
        service = ServiceProcess(env, tmp_path / f"service-{len(started)}.log", **popen)
        started.append(service)
        await service.wait_ready()
        return service

    yield start
    for service in started:
        service.stop()
