"""Build the images with podman/buildah on a stand-in for the official base, made with debootstrap.

No image registry is reachable here, so the official `python:3.X.Y-slim-SUITE` base is replaced by
a Debian minbase of the same suite (trixie: python3 3.13, as the official image's), with pip and
venv, tagged with the exact name the Dockerfile's FROM uses (see shared/docs/infra-tooling.md).
The suite is read from that FROM line, so the stand-in follows the Dockerfile. Environment:
  IMAGE_TEST_WORKDIR  podman storage and the cached base (default /var/tmp/stock-ticker-image-test)
  IMAGE_TEST_MIRROR   Debian mirror for debootstrap (default http://deb.debian.org/debian)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import DOCKERFILE, ROOT
from tests.support.programs import IN_CI, require


def base_suite() -> str:
    """The Debian suite of the Dockerfile's base image (`...-slim-trixie`)."""
    match = re.search(r"^FROM python:[0-9.]+-slim-([a-z]+) AS base$", DOCKERFILE.read_text(), re.M)
    assert match, "the base stage must be an official python slim image of a named suite"
    return match.group(1)


SUITE = base_suite()
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


@dataclass
class Podman:
    binary: str
    workdir: Path
    env: dict[str, str]
    timings: dict[str, float]

    def args(self, *args: str) -> list[str]:
        return [
            self.binary,
            "--root",
            str(self.workdir / "storage"),
            "--runroot",
            str(self.workdir / "run"),
            "--storage-driver",
            "overlay",
            *args,
        ]

    def run(
        self, *args: str, check: bool = True, timeout: float = 900, **kw: object
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            self.args(*args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            check=False,
            **kw,  # type: ignore[call-overload]
        )
        if check and proc.returncode != 0:
            pytest.fail(
                f"podman {' '.join(args)} exited {proc.returncode}\n"
                f"--- stdout (tail)\n{proc.stdout[-6000:]}\n"
                f"--- stderr (tail)\n{proc.stderr[-6000:]}"
            )
        return proc


def base_image_name() -> str:
    match = re.search(r"^FROM (\S+) AS base$", DOCKERFILE.read_text(), re.M)
    assert match, "the Dockerfile's base stage must name its image"
    name = match.group(1)
    return name if "/" in name else f"docker.io/library/{name}"


def make_rootfs(workdir: Path, timings: dict[str, float]) -> Path:
    """A tarball of a Debian minbase that stands in for the official slim Python image."""
    tarball = workdir / f"base-{SUITE}.tar"
    if tarball.is_file():
        return tarball
    debootstrap = require("debootstrap", "/usr/sbin/debootstrap")
    rootfs = workdir / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    mirror = os.environ.get("IMAGE_TEST_MIRROR", "http://deb.debian.org/debian")
    start = time.monotonic()
    proc = subprocess.run(
        [
            debootstrap,
            "--variant=minbase",
            "--include=python3,python3-pip,python3-venv,ca-certificates",
            SUITE,
            str(rootfs),
            mirror,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"debootstrap failed\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    for marker in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
        marker.unlink()
    (rootfs / "usr/bin/python").symlink_to("python3")
    # Outgoing TLS here may be re-signed by a local CA: pip inside the build must trust it.
    extra = sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))
    for crt in extra:
        shutil.copy(crt, rootfs / "usr/local/share/ca-certificates" / crt.name)
    if extra:
        subprocess.run(
            ["chroot", str(rootfs), "update-ca-certificates"], capture_output=True, check=True
        )
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for f in (rootfs / junk).glob("*"):
            if f.is_file():
                f.unlink()
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
    shutil.rmtree(rootfs)
    timings["debootstrap"] = time.monotonic() - start
    return tarball


@pytest.fixture(scope="session")
def podman() -> Iterator[Podman]:
    binary = require("podman")
    require("buildah")
    require("runc", "/usr/sbin/runc")
    if os.geteuid() != 0:
        message = "building images with podman here needs root (CI runs as root)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    workdir = Path(os.environ.get("IMAGE_TEST_WORKDIR", "/var/tmp/stock-ticker-image-test"))
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "containers.conf").write_text(CONTAINERS_CONF)
    env = dict(os.environ, CONTAINERS_CONF=str(workdir / "containers.conf"))
    p = Podman(binary, workdir, env, {})
    yield p
    p.run("image", "prune", "--force", check=False)  # earlier builds' layers, untagged now
    if p.timings:
        print(
            "\nimage test timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in p.timings.items())
        )


@pytest.fixture(scope="session")
def base_image(podman: Podman) -> str:
    name = base_image_name()
    tarball = make_rootfs(podman.workdir, podman.timings)
    start = time.monotonic()
    with tarball.open("rb") as f:
        podman.run(
            "import",
            "--change",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--change",
            "ENV LANG=C.UTF-8",
            "--change",
            'CMD ["python3"]',
            "-",
            name,
            stdin=f,
        )
    podman.timings["import"] = time.monotonic() - start
    return name


def build(podman: Podman, target: str, tag: str) -> str:
    start = time.monotonic()
    podman.run(
        "build",
        "--isolation",
        "chroot",
        "--format",
        "docker",
        "--pull=never",
        "--target",
        target,
        "-f",
        str(DOCKERFILE),
        "-t",
        tag,
        "--build-arg",
        "VERSION=1.0.0",
        "--build-arg",
        "REVISION=image-test",
        ".",
    )
    podman.timings[f"build {target}"] = time.monotonic() - start
    return tag


@pytest.fixture(scope="session")
def api_image(podman: Podman, base_image: str) -> str:
    return build(podman, "api", "localhost/stock-ticker:image-test")


@pytest.fixture(scope="session")
def test_image(podman: Podman, base_image: str) -> str:
    return build(podman, "test", "localhost/stock-ticker:image-test-tests")
