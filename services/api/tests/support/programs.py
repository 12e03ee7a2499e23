"""Finding a program (redis-server, wrk, nginx, kubectl...). For a test, a missing one skips it on
a developer's machine and fails it under CI=true, where .ci/run installs them all."""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def find(name: str, *candidates: str) -> str | None:
    """Path of `name` on PATH or at the first executable of `candidates`."""
    return shutil.which(name) or next((c for c in candidates if os.access(c, os.X_OK)), None)


def require(name: str, *candidates: str) -> str:
    """`find`, for a test: a missing program skips it, or fails it under CI=true."""
    found = find(name, *candidates)
    if found:
        return found
    message = f"{name} is not installed (.ci/run installs it)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)
