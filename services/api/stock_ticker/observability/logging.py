"""JSON lines on stdout: one object per record, written in batches.

Writing and flushing stdout once per log line is the largest single cost of a warm request with
the access log on (see docs/benchmarks.md). Lines are therefore collected and written together
once per event-loop iteration: under load one write carries many lines, at rest a line still goes
out within the same loop turn. Outside a running loop (start-up, shutdown, other threads) a line is
written at once, and whatever is pending is flushed at exit.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import functools
import logging
import sys
import threading
from typing import Any, BinaryIO

import orjson
from aiohttp.http_exceptions import HttpProcessingError

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


class LineSink:
    """Collects whole lines and writes them to a binary stream once per loop iteration."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._pending: list[bytes] = []
        self._scheduled = False
        self._lock = threading.Lock()

    def write(self, line: bytes) -> None:
        with self._lock:
            self._pending.append(line)
            if self._scheduled:  # a flush is already queued for this loop turn
                return
        # Asked once per loop turn, not once per line: CPython checks the running loop against
        # getpid(), a system call that cost more than the rest of writing an access line.
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._scheduled = True  # a second flush queued by a racing thread would find nothing
        loop.call_soon(self.flush)

    def flush(self) -> None:
        with self._lock:
            self._scheduled = False
            pending, self._pending = self._pending, []
        if pending:
            self._stream.write(b"".join(pending))
            self._stream.flush()


@functools.lru_cache(maxsize=4)
def _utc_second(second: int) -> str:
    return dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


@functools.lru_cache(maxsize=4)
def _utc_millisecond(millisecond: int) -> str:
    second, millis = divmod(millisecond, 1000)
    return f"{_utc_second(second)}.{millis:03d}+00:00"


def utc_timestamp(created: float) -> str:
    """ISO 8601 UTC with milliseconds, built once per millisecond (a busy server writes many
    lines in each)."""
    return _utc_millisecond(round(created * 1000))


def json_line(entry: dict[str, Any]) -> bytes:
    """One JSON object and a newline; values orjson cannot encode are written as `str()`."""
    return orjson.dumps(entry, default=str, option=orjson.OPT_APPEND_NEWLINE)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object, safe to parse whatever the message holds."""

    def format(self, record: logging.LogRecord) -> str:
        return self.to_bytes(record).decode()

    def to_bytes(self, record: logging.LogRecord) -> bytes:
        # The standard fields first, as in the access line; a caller's `extra` never replaces one.
        entry: dict[str, Any] = {
            "time": utc_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json_line(entry)


class SinkHandler(logging.Handler):
    """A logging handler that formats records as JSON lines into a `LineSink`."""

    def __init__(self, sink: LineSink) -> None:
        super().__init__()
        self.sink = sink
        self.formatter_ = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink.write(self.formatter_.to_bytes(record))
        except Exception:  # a log line must never break a request
            self.handleError(record)


_sink: LineSink | None = None


def write_line(line: bytes) -> None:
    """Write a preformatted JSON line to the same sink as the log records (stdout by default)."""
    global _sink
    if _sink is None:
        _sink = LineSink(sys.stdout.buffer)
    _sink.write(line)


def configure_logging(level: str, stream: BinaryIO | None = None) -> LineSink:
    """Send every logger's records to `stream` (stdout) as JSON lines at `level`."""
    global _sink
    _sink = LineSink(stream if stream is not None else sys.stdout.buffer)
    atexit.register(_sink.flush)
    root = logging.getLogger()
    root.handlers[:] = [SinkHandler(_sink)]
    root.setLevel(level)
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, RejectedRequestFilter) for f in server.filters):
        server.addFilter(RejectedRequestFilter())
    return _sink


class RejectedRequestFilter(logging.Filter):
    """aiohttp logs every request its parser rejects (a header over the limit, a malformed
    request line) at ERROR with a traceback, so any client could fill the log with tracebacks.
    Such a record becomes one WARNING line naming the error; other records pass unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = "rejected a malformed request: %s: %s"
            record.args = (type(exc).__name__, str(exc.message)[:200])
            record.exc_info = record.exc_text = None
        return True
