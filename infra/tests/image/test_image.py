"""The images, built and run: api read-only as its non-root user, healthy, drains on SIGTERM;
the test image runs the whole tox suite with no network (what `make docker-test` does)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Podman
from support import ROOT, find, get, objects, render
from tests.support.processes import HttpReady, ServerProcess, free_port, wait_for
from tests.support.programs import require


def inspect(podman: Podman, ref: str, kind: str = "image") -> dict[str, Any]:
    return json.loads(podman.run(kind, "inspect", ref).stdout)[0]


@pytest.fixture
def api(podman: Podman, api_image: str) -> Iterator[tuple[str, str]]:
    """The api image started the way the Deployment runs it: read-only root, no capabilities."""
    port = free_port()
    name = f"stock-ticker-image-test-{os.getpid()}-{port}"
    podman.run(
        "run",
        "-d",
        "--name",
        name,
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--no-healthcheck",
        "-p",
        f"127.0.0.1:{port}:8000",
        api_image,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(HttpReady("/healthz"), port, timeout=30)
        except BaseException:
            print(podman.run("logs", name, check=False).stdout)
            raise
        yield name, url
    finally:
        podman.run("rm", "-f", "-t", "0", name, check=False)


def test_api_image_config(podman: Podman, api_image: str) -> None:
    image = inspect(podman, api_image)
    config = image["Config"]
    user, _, group = config["User"].partition(":")
    assert user.isdigit() and int(user) != 0 and group.isdigit(), config["User"]
    assert config["Cmd"] == ["python", "-m", "stock_ticker"]
    assert "8000/tcp" in config["ExposedPorts"]
    assert config["StopSignal"] in ("SIGTERM", "15")
    health = (image.get("Healthcheck") or config["Healthcheck"])["Test"]
    assert health[0] == "CMD"
    assert "/healthz" in " ".join(health)
    env = dict(e.split("=", 1) for e in config["Env"])
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    labels = config["Labels"]
    for key in ("title", "version", "revision", "source", "licenses", "created"):
        assert labels.get(f"org.opencontainers.image.{key}"), key
    assert labels["org.opencontainers.image.version"] == "1.0.0"


def test_api_image_holds_no_build_or_test_tooling(podman: Podman, api_image: str) -> None:
    probe = (
        "import importlib.util as u, shutil, pathlib, sys;"
        "print(json.dumps({'compilers': [c for c in ('gcc', 'cc', 'g++') if shutil.which(c)],"
        "'test_modules': [m for m in ('pytest', 'tox', 'coverage', 'mypy', 'ruff')"
        " if u.find_spec(m)],"
        "'pip_cache': pathlib.Path('/root/.cache/pip').exists(),"
        "'app_source': pathlib.Path('/app/services').exists(),"
        "'stock_ticker': u.find_spec('stock_ticker').origin}))"
    )
    out = podman.run(
        "run",
        "--rm",
        "--read-only",
        "--no-healthcheck",
        "--user",
        "0",
        api_image,
        "python",
        "-c",
        "import json;" + probe,
    ).stdout
    found = json.loads(out)
    assert found["compilers"] == []
    assert found["test_modules"] == []
    assert found["pip_cache"] is False
    assert found["app_source"] is False, "only the venv is copied into the api image"
    assert found["stock_ticker"].startswith("/opt/venv/"), found["stock_ticker"]


def test_api_runs_read_only_as_non_root_and_answers(podman: Podman, api: tuple[str, str]) -> None:
    name, url = api
    state = inspect(podman, name, "container")
    assert state["HostConfig"]["ReadonlyRootfs"] is True
    assert podman.run("exec", name, "id", "-u").stdout.strip() == "10001"
    write = podman.run("exec", name, "python", "-c", "open('/app/x', 'w')", check=False)
    assert write.returncode != 0
    assert "Read-only file system" in write.stderr

    assert json.loads(get(f"{url}/healthz").body) == {"status": "ok"}
    resp = get(f"{url}/ndays?ndays=3")
    assert resp.status == 200, resp.text
    body = json.loads(resp.body)
    assert body["ndays"] == 3
    assert len(body["daily_data"]) == 3
    # The image's own HEALTHCHECK command succeeds inside the container.
    image = inspect(podman, inspect(podman, name, "container")["Image"])
    test = (image.get("Healthcheck") or image["Config"]["Healthcheck"])["Test"]
    assert test[0] == "CMD"
    podman.run("exec", name, *test[1:])


def test_api_stops_cleanly_on_sigterm_within_the_grace_period(
    podman: Podman, api: tuple[str, str]
) -> None:
    name, url = api
    deployment = find(objects(render()), "Deployment", "stock-ticker")
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    start = time.monotonic()
    podman.run("kill", "--signal", "TERM", name)
    # Draining: readiness fails at once, the app still serves.
    deadline = time.monotonic() + 3
    while get(f"{url}/readyz").status != 503:
        assert time.monotonic() < deadline, "readiness did not fail after SIGTERM"
        time.sleep(0.05)
    assert get(f"{url}/healthz").status == 200
    assert get(f"{url}/ndays").status == 200
    status = podman.run("wait", name, timeout=grace + 10).stdout.strip()
    elapsed = time.monotonic() - start
    assert status == "0", f"exit status {status}"
    assert elapsed < grace, f"took {elapsed:.1f} s, grace is {grace} s"
    logs = podman.run("logs", name).stdout + podman.run("logs", name).stderr
    assert '"message":"stopped"' in logs.replace(" ", "")


def test_test_image_runs_the_suite_offline(podman: Podman, test_image: str) -> None:
    """`make docker-test`: tox (lint, type, test) in the test image, with no network at all."""
    start = time.monotonic()
    proc = podman.run("run", "--rm", "--network", "none", test_image, check=False, timeout=1800)
    podman.timings["tox in the test image"] = time.monotonic() - start
    assert proc.returncode == 0, (
        f"tox failed in the test image\n{proc.stdout[-8000:]}\n{proc.stderr[-3000:]}"
    )
    assert "congratulations" in proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def docker_host(podman: Podman, base_image: str) -> Iterator[dict[str, str]]:
    """podman's Docker-compatible API on a socket, so the Makefile's own `docker` commands run."""
    docker = require("docker")
    sock = podman.workdir / f"docker-{os.getpid()}.sock"
    log = podman.workdir / "podman-service.log"
    env = dict(podman.env, DOCKER_HOST=f"unix://{sock}", DOCKER_BUILDKIT="0")

    def answers(_port: int) -> bool:  # a socket, no port: `docker version` gets an answer
        version = subprocess.run([docker, "version"], env=env, capture_output=True, check=False)
        return version.returncode == 0

    args = podman.args("system", "service", "--time=0", f"unix://{sock}")
    service = ServerProcess(
        "podman-service", args, podman.env, log, 0, answers, signal.SIGTERM, cwd=ROOT
    )
    with service:
        yield env


def make(env: dict[str, str], *args: str, timeout: float = 900) -> None:
    proc = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, (
        f"make {' '.join(args)}\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}"
    )


def test_make_build_and_docker_run_work_with_the_docker_cli(
    podman: Podman, docker_host: dict[str, str], tmp_path: Path
) -> None:
    podman.run("rm", "-f", "-t", "0", "stock-ticker-dev", check=False)  # left by an aborted run
    make(docker_host, "build")
    config = inspect(podman, "stock-ticker:1.0.0")["Config"]
    assert config["Labels"]["org.opencontainers.image.version"] == "1.0.0"
    assert config["Labels"]["org.opencontainers.image.revision"] != "unknown"
    port = free_port()
    env = dict(docker_host, SYMBOL="AAPL")
    args = ["make", "--no-print-directory", "docker-run", f"PORT={port}"]
    run = ServerProcess(
        "make docker-run",
        args,
        env,
        tmp_path / "run.log",
        port,
        HttpReady("/healthz"),
        signal.SIGTERM,
        cwd=ROOT,
        startup_timeout=60,
    )
    with run:
        url = f"http://127.0.0.1:{port}"
        body = json.loads(get(f"{url}/ndays?ndays=1").body)
        assert body["symbol"] == "AAPL", "SYMBOL from the environment reaches the container"
        state = inspect(podman, "stock-ticker-dev", "container")
        assert state["HostConfig"]["ReadonlyRootfs"] is True
        subprocess.run(
            [require("docker"), "stop", "-t", "30", "stock-ticker-dev"],
            env=docker_host,
            capture_output=True,
            check=True,
            timeout=60,
        )
        assert run.proc.wait(timeout=30) == 0


def test_make_build_tests_works_with_the_docker_cli(docker_host: dict[str, str]) -> None:
    make(docker_host, "build-tests")
