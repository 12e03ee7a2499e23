"""Install the tools infra/tests need beside the tox env, once per pinned version.

checkov pins `packaging<24` and pytest 9 needs `packaging>=24`, so it gets a virtualenv of its
own. The Gateway API and Prometheus Operator schemas are npm packages (schemas/package.json,
pinned with their integrity hashes in package-lock.json), installed with `npm ci`.
Usage: python infra/tests/tools.py VENV_DIR [SCHEMAS_DIR]  (tox env `infra` runs this first).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import venv
from pathlib import Path

CHECKOV = "checkov==3.3.30"


def ensure_checkov(target: Path) -> Path:
    stamp = target / ".installed"
    binary = target / "bin" / "checkov"
    if stamp.is_file() and stamp.read_text() == CHECKOV and binary.is_file():
        return binary
    venv.create(target, with_pip=True, clear=True)
    subprocess.run(
        [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", CHECKOV], check=True
    )
    stamp.write_text(CHECKOV)
    return binary


SCHEMAS = Path(__file__).parent / "schemas"
SCHEMA_FILES = ("package.json", "package-lock.json", ".npmrc")


def ensure_schemas(target: Path) -> Path | None:
    """node_modules with the schema packages, or None where npm is missing (the tests say so)."""
    npm = shutil.which("npm")
    if npm is None:
        return None
    pins = hashlib.sha256(b"".join((SCHEMAS / f).read_bytes() for f in SCHEMA_FILES)).hexdigest()
    stamp = target / ".installed"
    if stamp.is_file() and stamp.read_text() == pins:
        return target / "node_modules"
    target.mkdir(parents=True, exist_ok=True)
    for name in SCHEMA_FILES:
        shutil.copy(SCHEMAS / name, target / name)
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=target,
        check=True,
    )
    stamp.write_text(pins)
    return target / "node_modules"


if __name__ == "__main__":
    print(ensure_checkov(Path(sys.argv[1])))
    if len(sys.argv) > 2:
        print(ensure_schemas(Path(sys.argv[2])))
