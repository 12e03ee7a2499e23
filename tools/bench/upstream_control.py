"""The bench's handle on the fake upstream (services/api/tests/support/fake_upstream.py, run as a
process of its own): its call counts and its mode, through its `/_stats` and `/_control`."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bench.codec import decode_as
from bench.http_client import http_get
from bench.processes import ServerProcess


@dataclass(frozen=True)
class UpstreamStats:
    """The fake's `/_stats`."""

    calls: dict[str, int]  # per symbol, since the fake started
    handling_seconds: list[float]  # its own time per good answer, the last 1,000
    mode: str
    open: dict[str, int]  # calls in progress, per symbol
    idle_seconds: dict[str, float]  # since a call for the symbol last began or ended


class FakeUpstream:
    def __init__(self, process: ServerProcess) -> None:
        self.process = process

    @property
    def url(self) -> str:
        return self.process.url

    def stats(self) -> UpstreamStats:
        answer = http_get(self.url + "/_stats")
        if answer.status != 200:
            raise RuntimeError(f"upstream /_stats answered {answer.status}")
        return decode_as(UpstreamStats, json.loads(answer.body))

    def calls(self, symbol: str) -> int:
        return self.stats().calls.get(symbol, 0)

    def total_calls(self) -> int:
        return sum(self.stats().calls.values())

    def set_mode(self, mode: str) -> None:
        """`ok`, `500` or `hang`: how every later call is answered."""
        answer = http_get(f"{self.url}/_control?mode={mode}")
        if answer.status != 200:
            raise RuntimeError(
                f"upstream /_control?mode={mode} answered {answer.status}: {answer.body[:200]!r}"
            )
