"""Read the real process's `/metrics` and its JSON log, and wait on them with a bounded deadline
instead of sleeping."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

#: Generous: a condition that holds is usually seen within a few polls.
WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.02


class Scrape:
    """One `/metrics` exposition, parsed."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._samples = [
            (sample.name, sample.labels, sample.value)
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        ]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples called `name` whose labels include `labels` (0 if none)."""
        return sum(
            value
            for sample, have, value in self._samples
            if sample == name and labels.items() <= have.items()
        )


async def scrape(session: aiohttp.ClientSession, base_url: str) -> Scrape:
    async with session.get(f"{base_url}/metrics") as response:
        assert response.status == 200
        return Scrape(await response.text())


async def wait_for_metrics(
    session: aiohttp.ClientSession,
    base_url: str,
    condition: Callable[[Scrape], bool],
    what: str,
    timeout: float = WAIT_SECONDS,
) -> Scrape:
    """Scrape until `condition` holds; fail naming `what` (and the last values) after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        current = await scrape(session, base_url)
        if condition(current):
            return current
        if time.monotonic() > deadline:
            lines = [line for line in current.text.splitlines() if line.startswith("stock_api")]
            raise AssertionError(f"never saw {what}; last scrape:\n" + "\n".join(lines))
        await asyncio.sleep(_POLL_SECONDS)  # polling the service's state, not hiding a race


def log_entries(path: Path) -> list[dict[str, Any]]:
    """The complete JSON lines of a service's log so far."""
    text = path.read_text(errors="replace")
    complete = text[: text.rfind("\n") + 1]  # a line still being written has no newline yet
    return [json.loads(line) for line in complete.splitlines()]


async def wait_for_log(
    path: Path,
    matches: Callable[[dict[str, Any]], bool],
    what: str,
    *,
    at_least: int = 1,
    timeout: float = WAIT_SECONDS,
) -> list[dict[str, Any]]:
    """The log's entries that match, once there are `at_least`; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = [entry for entry in log_entries(path) if matches(entry)]
        if len(found) >= at_least:
            return found
        assert time.monotonic() < deadline, f"never logged: {what}"
        await asyncio.sleep(_POLL_SECONDS)  # the service writes its log once per loop turn
