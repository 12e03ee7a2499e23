"""Where the bench finds the repository's files and writes its report."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
TOOLS = PACKAGE.parent  # on PYTHONPATH for the bench and the stand-in servers it starts
REPO = TOOLS.parent
DATA_DIR = REPO / "services" / "api" / "stock_ticker" / "upstream" / "data"
DOCS_MD = REPO / "docs" / "benchmarks.md"
DOCS_JSON = REPO / "docs" / "benchmarks.json"


def shown(path: Path) -> str:
    """`path` as a report names it: relative to the repository when inside it (a worktree there,
    the docs), so a committed report names no directory of the machine it ran on."""
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)
