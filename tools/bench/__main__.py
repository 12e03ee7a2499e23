"""`python -m bench` (tools/ on PYTHONPATH; `make bench` sets it)."""

from bench.cli import entry

entry()
