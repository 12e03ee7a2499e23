"""What a newcomer meets in the Makefile: readable help, commands that fail when they should, and
`make run` installing only what serving needs."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import pty
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import ROOT, get
from tests.support.processes import HttpReady, ServerProcess, free_port


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_help_shows_values_and_no_colour_when_piped() -> None:
    result = make("help")
    assert result.returncode == 0
    assert "\033[" not in result.stdout  # not a terminal: no ANSI colours
    assert "$(" not in result.stdout  # every variable shown by its value
    assert "Serve on :8000 in the foreground" in result.stdout
    assert "Build the api image stock-ticker:" in result.stdout
    assert "KUBECTL_CONTEXT (docker-desktop)" in result.stdout


def test_help_is_coloured_on_a_terminal() -> None:
    """The colour test must see make's own stdout: a `$(...)` around it would see a pipe."""
    primary, secondary = pty.openpty()
    try:
        result = subprocess.run(
            ["make", "--no-print-directory", "-C", str(ROOT), "help"],
            stdout=secondary,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
        os.close(secondary)
        shown = b""
        with contextlib.suppress(OSError):  # EIO once everything written was read
            while chunk := os.read(primary, 65536):
                shown += chunk
    finally:
        os.close(primary)
    assert result.returncode == 0, result.stderr
    assert b"\033[36mrun" in shown
    assert b"\033[0m Serve on :8000" in shown


def test_run_installs_the_service_without_the_test_tools(tmp_path: Path) -> None:
    result = make("-n", "run", f"VENV={tmp_path / 'venv'}")
    assert result.returncode == 0, result.stderr
    installs = [line for line in result.stdout.splitlines() if " install " in line]
    assert any(line.endswith('-e "services/api"') for line in installs), installs
    assert not any("[test]" in line or "tox" in line for line in installs), installs


@pytest.fixture
def answering_403() -> Iterator[str]:
    class Forbidden(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"status":403,"title":"Symbol not allowed"}'
            self.send_response(403)
            self.send_header("Content-Type", "application/problem+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", free_port()), Forbidden)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_ndays_fails_on_a_problem_answer_and_shows_it(answering_403: str) -> None:
    result = make("ndays", f"URL={answering_403}", "SYMBOL=ZZZ")
    assert result.returncode != 0
    assert '"status":403' in result.stdout


def test_deploy_to_a_missing_context_says_how_to_pick_one(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncontexts: []\n")
    result = make(
        "deploy",
        "KUBECTL_CONTEXT=no-such-cluster",
        env={"STOCKS_API_KEY": "not-a-key", "KUBECONFIG": str(kubeconfig)},
    )
    assert result.returncode != 0
    assert "kubectl has no context 'no-such-cluster'" in result.stderr
    assert "KUBECTL_CONTEXT=<name>" in result.stderr
    assert "not-a-key" not in result.stdout + result.stderr


def test_make_run_on_a_fresh_venv_installs_quietly_and_serves_sample_data(tmp_path: Path) -> None:
    """What a newcomer types first, for real: a new virtualenv, the service alone installed
    without a wall of build warnings, sample data served on the port asked for."""
    port = free_port()
    argv = ["make", "--no-print-directory", "-C", str(ROOT), "run", f"VENV={tmp_path / 'venv'}"]
    env = {**os.environ, "PORT": str(port)}
    env.pop("STOCKS_API_KEY", None)
    server = ServerProcess(
        "make run",
        [*argv, f"PORT={port}"],
        env,
        tmp_path / "make-run.log",
        port,
        HttpReady("/healthz"),
        startup_timeout=300,  # a virtualenv and the service's dependencies from the index
        popen={"start_new_session": True},  # make, its shell and the service: one group
    )
    try:
        server.start()
        answer = get(f"{server.url}/ndays?symbol=IBM&ndays=3")
    finally:
        if server.running:
            os.killpg(server.pid, signal.SIGTERM)
            server.proc.wait(timeout=30)
    assert answer.status == 200
    assert json.loads(answer.body)["source"] == "sample"
    output = server.output()
    assert "BuildBackendWarning" not in output and "!!" not in output, output
    assert "Traceback" not in output, output
    installed = {
        p.name.split("-")[0].lower()
        for p in (tmp_path / "venv").glob("lib/*/site-packages/*.dist-info")
    }
    assert "aiohttp" in installed
    assert not installed & {"tox", "pytest", "schemathesis", "hypothesis"}, installed
