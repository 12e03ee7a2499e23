"""Install checkov into a virtualenv of its own, once per pinned version.

checkov pins `packaging<24` and pytest 9 needs `packaging>=24`, so they cannot share the tox env.
Usage: python infra/tests/tools.py VENV_DIR  (tox env `infra` runs this before the tests).
"""

from __future__ import annotations

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


if __name__ == "__main__":
    print(ensure_checkov(Path(sys.argv[1])))
