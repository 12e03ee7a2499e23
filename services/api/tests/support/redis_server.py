"""Real `redis-server` processes started on free ports by the ones who need them (never a system
service): the tests' servers, which they kill, stop and restart; the infra tests' check of the
StatefulSet's arguments; the bench's shared store. Each is a `ServerProcess`, ready when it
answers PING. Without the binary a test skips, or fails under CI=true (.ci/run installs it)."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
from pathlib import Path

import redis.asyncio

from .processes import Readiness, ServerProcess, free_port
from .programs import require

CANDIDATES = ("/usr/bin/redis-server", "/usr/sbin/redis-server")


def require_redis_server() -> str:
    """Path of redis-server; a missing one fails the test under CI=true and skips it elsewhere."""
    return require("redis-server", *CANDIDATES)


def answers_ping(port: int) -> bool:
    """Ready: PONG, or NOAUTH from a server with a password (not LOADING, not refused)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    return reply.startswith((b"+PONG", b"-NOAUTH"))


def answers_ping_over_tls(certificate: Path) -> Readiness:
    """Ready: PONG over TLS, from a server whose certificate `certificate` is (or signed)."""
    context = ssl.create_default_context(cafile=str(certificate))

    def ready(port: int) -> bool:
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=1.0) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
            ):
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    return ready


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by openssl in `directory`."""
    openssl = require("openssl", "/usr/bin/openssl")
    certificate, key = directory / "redis.crt", directory / "redis.key"
    argv = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    argv += ["-nodes", "-keyout", str(key), "-out", str(certificate), "-days", "1"]
    argv += ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(argv, check=True, capture_output=True)
    return certificate, key


def redis_process(
    binary: str,
    directory: Path,
    log_path: Path,
    *,
    port: int | None = None,
    appendonly: bool = False,
    password: str | None = None,
    tls: tuple[Path, Path] | None = None,
    name: str = "redis-server",
) -> ServerProcess:
    """redis-server on 127.0.0.1 only, its files in `directory`, no snapshots; with `appendonly`
    its data survives a SIGTERM and a start again. With `tls` (certificate, key) it speaks TLS
    only, on `port`, and asks clients for no certificate."""
    port = free_port() if port is None else port
    listen = ["--port", str(port)]
    ready: Readiness = answers_ping
    if tls is not None:
        certificate, key = tls
        listen = ["--port", "0", "--tls-port", str(port), "--tls-auth-clients", "no"]
        listen += ["--tls-cert-file", str(certificate), "--tls-key-file", str(key)]
        listen += ["--tls-ca-cert-file", str(certificate)]
        ready = answers_ping_over_tls(certificate)
    argv = [binary, *listen, "--bind", "127.0.0.1", "--dir", str(directory)]
    argv += ["--save", "", "--appendonly", "yes" if appendonly else "no", "--loglevel", "warning"]
    if password is not None:
        argv += ["--requirepass", password]
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return ServerProcess(name, argv, env, log_path, port, ready, signal.SIGTERM)


class RedisServer:
    """One redis-server with its data (AOF on) in `directory`; it can be killed, stopped
    (SIGSTOP: it hangs with its connections open) and started again on the same port."""

    def __init__(self, directory: Path, password: str | None = None) -> None:
        self.process = redis_process(
            require_redis_server(),
            directory,
            directory / "redis-server.log",
            appendonly=True,
            password=password,
        )
        self.port = self.process.port
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._password = password

    def start(self) -> None:
        self.process.start()

    def stop(self) -> None:
        """SIGTERM: it writes its AOF and exits (the next start reads it back)."""
        self.process.stop()

    def kill(self) -> None:
        """SIGKILL: connections are refused until it is started again."""
        self.process.kill()

    def pause(self) -> None:
        """SIGSTOP: connections are accepted, no command is ever answered."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def client(self) -> redis.asyncio.Redis:
        return redis.asyncio.Redis.from_url(self.url, password=self._password)

    def close(self) -> None:
        if self.process.running:
            self.resume()  # a stopped process cannot be stopped politely
            self.process.stop()
