"""The few commands the bench itself sends a redis-server (issue 11): INFO. (PING, the readiness
check, is the launcher's: support.redis_server.answers_ping.)

One short connection per command, in RESP, from the standard library: the bench measures the
service's use of the store, so it reads the server's own counters (INFO commandstats) rather
than adding a client library of its own.
"""

from __future__ import annotations

import socket


def command(port: int, *words: str, timeout: float = 2.0) -> bytes:
    """The reply to one command: a simple or a bulk string (an error raises RuntimeError)."""
    request = f"*{len(words)}\r\n".encode() + b"".join(
        b"$%d\r\n%s\r\n" % (len(word.encode()), word.encode()) for word in words
    )
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        with sock.makefile("rb") as reply:
            line = reply.readline()
            if line.startswith(b"+"):
                return line[1:].rstrip(b"\r\n")
            if line.startswith(b"$"):
                size = int(line[1:])
                return b"" if size < 0 else reply.read(size + 2)[:size]
    raise RuntimeError(f"redis-server on {port} answered {words[0]} with {line[:200]!r}")


def info(port: int, section: str) -> dict[str, str]:
    """INFO `section` as its `name:value` lines."""
    fields = {}
    for line in command(port, "INFO", section).decode().splitlines():
        name, colon, value = line.partition(":")
        if colon and not name.startswith("#"):
            fields[name] = value
    return fields


def command_calls(port: int) -> dict[str, int]:
    """Calls per command since the server started (INFO commandstats), INFO itself left out."""
    calls = {}
    for name, stats in info(port, "commandstats").items():
        command_name = name.removeprefix("cmdstat_")
        if command_name == "info":
            continue
        figures = dict(part.split("=", 1) for part in stats.split(","))
        calls[command_name] = int(figures["calls"])
    return calls


def server_version(port: int) -> str:
    """`redis 7.0.15`, or `valkey 8.1.1` for a Valkey server (which reports both)."""
    fields = info(port, "server")
    if "valkey_version" in fields:
        return f"valkey {fields['valkey_version']}"
    return f"redis {fields.get('redis_version', '?')}"
