"""One blocking GET against 127.0.0.1, for set-up and checks (never for the measured load)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import NamedTuple


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes


def http_get(url: str, timeout: float = 5.0, headers: Mapping[str, str] | None = None) -> Answer:
    """HTTP errors (and 304) are answers here, not exceptions; connection failures raise OSError."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # 127.0.0.1 only
            return Answer(response.status, _lower(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, _lower(exc.headers.items()), exc.read())


def _lower(items: list[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in items}
