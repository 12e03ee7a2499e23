"""Restart a command whenever a .py file under a directory changes (for `make docker-run`).

Standard library only, so it runs in the api image as it is:
    python reload.py WATCH_DIR -- python -m stock_ticker
SIGTERM and SIGINT are passed to the command, and this exits with the command's status.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

POLL_SECONDS = 1.0


def snapshot(root: Path) -> dict[Path, float]:
    return {p: p.stat().st_mtime for p in root.rglob("*.py") if p.is_file()}


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: reload.py WATCH_DIR -- COMMAND...", file=sys.stderr)
        return 2
    root, command = Path(argv[0]), argv[2:]
    stopping: list[int] = []
    children: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)
        if children:
            children[-1].send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while not stopping:
        seen = snapshot(root)
        child = subprocess.Popen(command)
        children.append(child)
        reported = False
        while not stopping:
            time.sleep(POLL_SECONDS)
            if snapshot(root) != seen:
                print(f"reload: {root} changed, restarting", file=sys.stderr, flush=True)
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)  # SIGINT: the service skips its drain
                    child.wait()
                break
            if child.poll() == 0:
                return 0
            if child.returncode is not None and not reported:
                print(f"reload: exited {child.returncode}; waiting for a change", file=sys.stderr)
                reported = True
    return children[-1].wait() if children else 128 + stopping[0]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
