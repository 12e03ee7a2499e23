"""Parse and validate the `/ndays` query string, memoised by its raw text.

Validation is the marshmallow schema's; this module adds what webargs would not: a repeated
parameter is an error rather than "first one wins". Clients send the same few query strings over
and over, so a bounded memo turns validation into a dictionary lookup on the warm path. Errors
are not memoised (lru_cache does not keep exceptions).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl

from marshmallow import ValidationError

from stock_ticker.web.problems import invalid_parameter
from stock_ticker.web.schemas import NdaysQuerySchema

_SCHEMA = NdaysQuerySchema()
_ACCEPTED = ", ".join(_SCHEMA.fields)


@dataclass(frozen=True, slots=True)
class NdaysQuery:
    symbol: str | None
    ndays: int | None


@lru_cache(maxsize=1024)
def parse_ndays_query(query_string: str) -> NdaysQuery:
    """Return the validated parameters or raise a 400 `Problem` naming each bad one."""
    pairs = parse_qsl(query_string, keep_blank_values=True, errors="replace")
    repeated = sorted(name for name, count in Counter(k for k, _ in pairs).items() if count > 1)
    if repeated:
        raise invalid_parameter({name: ["given more than once; give it once"] for name in repeated})
    try:
        data = _SCHEMA.load(dict(pairs))
    except ValidationError as exc:
        messages: dict[str, list[str]] = exc.normalized_messages()  # type: ignore[no-untyped-call]
        raise invalid_parameter(_reasons(messages)) from None
    return NdaysQuery(
        symbol=data["symbol"].upper() if "symbol" in data else None, ndays=data.get("ndays")
    )


def _reasons(messages: dict[str, list[str]]) -> dict[str, list[str]]:
    return {
        name: [
            f"unknown parameter; accepted: {_ACCEPTED}" if reason == "Unknown field." else reason
            for reason in reasons
        ]
        for name, reasons in sorted(messages.items())
    }
