"""JSON log lines: the formatter, the batching sink, and configure_logging."""

from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import io
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest

from stock_ticker.observability import logging as logmod
from stock_ticker.observability.logging import (
    JsonFormatter,
    LineSink,
    SinkHandler,
    configure_logging,
    json_line,
    utc_timestamp,
    write_line,
)


class RecordingStream(io.BytesIO):
    """A binary stream that remembers each write call."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.flushes = 0

    def write(self, data: Any) -> int:
        self.writes.append(bytes(data))
        return super().write(data)

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def lines(stream: io.BytesIO) -> list[dict[str, Any]]:
    text = stream.getvalue().decode()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def make_record(
    msg: str = "hello %s",
    args: tuple[object, ...] = ("world",),
    *,
    level: int = logging.WARNING,
    name: str = "stock_ticker.test",
    extra: dict[str, object] | None = None,
    exc_info: Any = None,
) -> logging.LogRecord:
    return logging.getLogger(name).makeRecord(
        name, level, __file__, 42, msg, args, exc_info, extra=extra
    )


@contextmanager
def preserved_root_logger() -> Iterator[logging.Logger]:
    """Put the root logger's handlers and level back however the test leaves them."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield root
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture
def no_sink(monkeypatch: pytest.MonkeyPatch) -> list[Callable[[], None]]:
    """Start without a module-level sink (restored afterwards); record atexit registrations."""
    registered: list[Callable[[], None]] = []
    monkeypatch.setattr(logmod, "_sink", None)
    monkeypatch.setattr(atexit, "register", registered.append)
    return registered


# --- JsonFormatter --------------------------------------------------------------------------


def test_a_record_is_one_json_object_on_one_line() -> None:
    record = make_record("hello %s", ("world",))

    out = JsonFormatter().format(record)

    assert out.endswith("\n")
    assert out.count("\n") == 1
    entry = json.loads(out)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "stock_ticker.test"
    assert entry["message"] == "hello world"  # arguments interpolated
    assert list(entry)[:4] == ["time", "level", "logger", "message"]


def test_the_time_is_the_records_time_in_utc_with_milliseconds() -> None:
    record = make_record()
    record.created = 1_795_000_000.25

    entry = json.loads(JsonFormatter().format(record))

    stamp = dt.datetime.fromisoformat(entry["time"])
    assert stamp.utcoffset() == dt.timedelta(0)
    assert stamp == dt.datetime.fromtimestamp(1_795_000_000.25, dt.UTC)
    assert entry["time"].endswith(".250+00:00")


def test_a_message_with_newlines_and_quotes_stays_on_one_line() -> None:
    nasty = 'line one\nline "two"\r\n\ttabbed \\ back\u2028sep {"json": true} ü'
    out = JsonFormatter().format(make_record("%s", (nasty,)))

    assert out.count("\n") == 1
    assert json.loads(out)["message"] == nasty


def test_extra_fields_are_top_level_keys() -> None:
    record = make_record(
        extra={"symbol": "MSFT", "status": 200, "duration_ms": 1.5, "cache": None, "ok": True}
    )

    entry = json.loads(JsonFormatter().format(record))

    assert entry["symbol"] == "MSFT"
    assert entry["status"] == 200
    assert entry["duration_ms"] == 1.5
    assert entry["cache"] is None
    assert entry["ok"] is True


def test_extra_values_json_cannot_hold_are_written_as_text() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque-thing"

    record = make_record(extra={"price": Decimal("423.4600"), "thing": Opaque()})

    entry = json.loads(JsonFormatter().format(record))

    assert entry["price"] == "423.4600"  # exact, not a float
    assert entry["thing"] == "opaque-thing"


def test_standard_record_attributes_are_left_out() -> None:
    entry = json.loads(JsonFormatter().format(make_record()))

    assert set(entry) == {"time", "level", "logger", "message"}
    for noise in ("msg", "args", "pathname", "lineno", "levelno", "created", "thread"):
        assert noise not in entry


def test_an_exception_is_included_as_text() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = make_record("failed", (), level=logging.ERROR, exc_info=sys.exc_info())

    out = JsonFormatter().format(record)

    assert out.count("\n") == 1
    entry = json.loads(out)
    assert entry["level"] == "ERROR"
    assert entry["message"] == "failed"
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert entry["exception"].rstrip().endswith("ValueError: boom")
    assert "test_an_exception_is_included_as_text" in entry["exception"]


def test_no_exception_key_without_an_exception() -> None:
    assert "exception" not in json.loads(JsonFormatter().format(make_record()))


def test_to_bytes_is_format_encoded() -> None:
    record = make_record("ü %d", (1,))
    formatter = JsonFormatter()

    assert formatter.to_bytes(record) == formatter.format(record).encode()


# --- utc_timestamp and json_line ------------------------------------------------------------


@pytest.mark.parametrize(
    "created", [0.0, 0.5, 1_795_000_000.0, 1_795_000_000.125, 1_795_000_059.75, 1_795_000_060.0]
)
def test_utc_timestamp_matches_datetime(created: float) -> None:
    expected = dt.datetime.fromtimestamp(created, dt.UTC).isoformat(timespec="milliseconds")

    assert utc_timestamp(created) == expected


def test_utc_timestamp_changes_with_the_second() -> None:
    # the per-second cache must not serve one second's text for the next
    assert utc_timestamp(100.5) == "1970-01-01T00:01:40.500+00:00"
    assert utc_timestamp(101.5) == "1970-01-01T00:01:41.500+00:00"
    assert utc_timestamp(100.5) == "1970-01-01T00:01:40.500+00:00"


def test_json_line_is_one_object_and_a_newline() -> None:
    line = json_line({"a": 1, "b": "x\ny", "c": Decimal("1.10")})

    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert json.loads(line) == {"a": 1, "b": "x\ny", "c": "1.10"}


# --- LineSink -------------------------------------------------------------------------------


def test_outside_an_event_loop_a_line_is_written_at_once() -> None:
    stream = RecordingStream()
    sink = LineSink(stream)

    sink.write(b'{"n": 1}\n')
    assert stream.writes == [b'{"n": 1}\n']
    sink.write(b'{"n": 2}\n')

    assert stream.writes == [b'{"n": 1}\n', b'{"n": 2}\n']
    assert stream.flushes == 2


async def test_inside_a_loop_lines_are_batched_until_the_loop_turns() -> None:
    stream = RecordingStream()
    sink = LineSink(stream)

    sink.write(b"a\n")
    sink.write(b"b\n")
    sink.write(b"c\n")
    assert stream.writes == []  # nothing yet: written once per loop iteration

    await asyncio.sleep(0)  # one loop turn: the behaviour under test
    assert stream.writes == [b"a\nb\nc\n"]  # one write for the batch
    assert stream.flushes == 1

    sink.write(b"d\n")  # the next batch is scheduled again
    await asyncio.sleep(0)  # one loop turn: the behaviour under test
    assert stream.writes == [b"a\nb\nc\n", b"d\n"]


async def test_an_explicit_flush_writes_pending_lines_and_the_scheduled_one_is_a_no_op() -> None:
    stream = RecordingStream()
    sink = LineSink(stream)
    sink.write(b"a\n")

    sink.flush()  # e.g. at exit
    assert stream.writes == [b"a\n"]
    await asyncio.sleep(0)  # the scheduled flush finds nothing to do

    assert stream.writes == [b"a\n"]
    assert stream.flushes == 1


def test_flush_with_nothing_pending_does_not_touch_the_stream() -> None:
    stream = RecordingStream()

    LineSink(stream).flush()

    assert stream.writes == []
    assert stream.flushes == 0


# --- SinkHandler ----------------------------------------------------------------------------


def test_sink_handler_writes_json_lines_through_the_sink() -> None:
    stream = RecordingStream()
    handler = SinkHandler(LineSink(stream))
    logger = logging.getLogger("tests.observability.sink_handler")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("first %s", "line", extra={"symbol": "IBM"})
        logger.warning("second")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True

    first, second = lines(stream)
    assert first["message"] == "first line"
    assert first["symbol"] == "IBM"
    assert first["logger"] == "tests.observability.sink_handler"
    assert second["message"] == "second"


def test_a_record_that_cannot_be_formatted_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = RecordingStream()
    handler = SinkHandler(LineSink(stream))
    failed: list[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", failed.append)
    record = make_record("%d items", ("not a number",))  # the message cannot be built

    handler.emit(record)  # must not raise

    assert failed == [record]
    assert stream.writes == []


def test_a_broken_stream_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(io.BytesIO):
        def write(self, data: Any) -> int:
            raise OSError("disk full")

    handler = SinkHandler(LineSink(Broken()))
    failed: list[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", failed.append)
    record = make_record()

    handler.emit(record)

    assert failed == [record]


# --- write_line -----------------------------------------------------------------------------


def test_write_line_defaults_to_stdout_and_reuses_its_sink(
    no_sink: list[Callable[[], None]], capsys: pytest.CaptureFixture[str]
) -> None:
    write_line(b'{"n": 1}\n')
    sink = logmod._sink
    write_line(b'{"n": 2}\n')

    assert sink is not None
    assert logmod._sink is sink
    assert capsys.readouterr().out == '{"n": 1}\n{"n": 2}\n'


# --- configure_logging ----------------------------------------------------------------------


def test_configure_logging_sets_the_level_and_one_handler(
    no_sink: list[Callable[[], None]],
) -> None:
    stream = RecordingStream()
    with preserved_root_logger() as root:
        root.addHandler(logging.StreamHandler(io.StringIO()))  # replaced, not kept

        sink = configure_logging("WARNING", stream)

        assert root.level == logging.WARNING
        assert len(root.handlers) == 1
        (handler,) = root.handlers
        assert isinstance(handler, SinkHandler)
        assert handler.sink is sink
        logging.getLogger("stock_ticker.some.module").info("too low")
        logging.getLogger("stock_ticker.some.module").warning("kept %d", 1)

    (entry,) = lines(stream)
    assert entry["message"] == "kept 1"
    assert entry["logger"] == "stock_ticker.some.module"
    assert no_sink == [sink.flush]  # whatever is pending is flushed at exit


def test_configure_logging_twice_still_has_one_handler(
    no_sink: list[Callable[[], None]],
) -> None:
    with preserved_root_logger() as root:
        configure_logging("INFO", RecordingStream())
        configure_logging("DEBUG", RecordingStream())

        assert root.level == logging.DEBUG
        assert len(root.handlers) == 1


def test_configure_logging_defaults_to_stdout_and_shares_the_sink_with_write_line(
    no_sink: list[Callable[[], None]], capsys: pytest.CaptureFixture[str]
) -> None:
    with preserved_root_logger():
        sink = configure_logging("INFO")
        logging.getLogger("stock_ticker.x").info("from a logger")
        write_line(b'{"access": true}\n')

        assert logmod._sink is sink

    out = capsys.readouterr().out.splitlines()
    assert json.loads(out[0])["message"] == "from a logger"
    assert json.loads(out[1]) == {"access": True}
    assert len(out) == 2


async def test_configure_logging_inside_a_loop_batches_lines(
    no_sink: list[Callable[[], None]],
) -> None:
    stream = RecordingStream()
    with preserved_root_logger():
        configure_logging("INFO", stream)
        log = logging.getLogger("stock_ticker.batch")
        log.info("one")
        log.info("two")
        assert stream.writes == []
        await asyncio.sleep(0)  # one loop turn: the behaviour under test

    assert len(stream.writes) == 1
    assert [e["message"] for e in lines(stream)] == ["one", "two"]


def test_the_rejected_request_filter_leaves_other_records_alone() -> None:
    from stock_ticker.observability.logging import RejectedRequestFilter

    try:
        raise ValueError("a real bug")
    except ValueError:
        record = logging.LogRecord(
            "aiohttp.server", logging.ERROR, "", 0, "boom", None, sys.exc_info()
        )
    assert RejectedRequestFilter().filter(record)
    assert (record.levelno, record.msg) == (logging.ERROR, "boom")
    assert record.exc_info is not None  # the traceback of a real error is kept
