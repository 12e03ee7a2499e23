"""`make bench`: measure, judge, render, write (or print, with --no-write)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import replace

from bench.codec import encode, load_report
from bench.console import say
from bench.judging import judged
from bench.options import Options, parse_options
from bench.paths import DATA_DIR
from bench.processes import log_directory
from bench.report import kept_notes, render
from bench.results import Before
from bench.run import run


def check_interpreter(options: Options) -> None:
    """The service and the stand-in servers run on this interpreter: it must be the venv's."""
    needed = ["aiohttp"] if options.service_src else ["aiohttp", "stock_ticker"]
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(f"{sys.executable} has no {', '.join(missing)}: run `make bench`")


def read_before(path: str, text: str) -> Before:
    """What the before → after table needs of a saved report, kept with this report."""
    saved = load_report(text)
    return Before(
        date=saved.date,
        command=saved.command,
        machine=saved.machine,
        options=saved.options,
        path=path,
        failure=saved.failure,
        abandoned=saved.abandoned,
    )


def main(argv: Sequence[str]) -> int:
    options = parse_options(argv)
    check_interpreter(options)
    if not DATA_DIR.is_dir():
        raise SystemExit(f"no sample data at {DATA_DIR}")
    before = None
    if options.before is not None:  # read first: a bad file fails before minutes of measuring
        before = read_before(str(options.before), options.before.read_text())
    with log_directory(options.keep_logs) as log_dir:
        report = run(options, log_dir, argv)
    report = judged(replace(report, before=before))
    text = render(report, kept_notes(options.out_md))
    raw = encode(report)
    if options.save_json is not None:
        options.save_json.write_text(raw)
        say(f"wrote {options.save_json}")
    if options.write:
        options.out_md.write_text(text)
        options.out_json.write_text(raw)
        say(f"wrote {options.out_md} and {options.out_json}")
    else:
        print(text)
    return 0


def entry() -> None:
    sys.exit(main(sys.argv[1:]))
