"""One module per scenario; bench/run.py runs the ones `--only` selects, in SCENARIO_NAMES order.

- warm: `/ndays` (defaults), `/ndays` spread over symbols and ndays, `/healthz`, `/metrics`,
  each against the bare-aiohttp baseline in the same rounds (rounds.py); memory: the soak.
- conditional (issue 12): warm `/ndays` with If-None-Match set to the current ETag (a 304), in
  the same rounds as the plain 200 and the baseline.
- stampede: 500 clients at once on a cold symbol; startup: spawn to ready.
- redis (issue 11, shared_store.py): warm `/ndays` on a second service with REDIS_URL set, in
  the same rounds as the in-process one; then the stampede across three processes sharing a
  redis-server of the run's own.
- older_code.py (`--compare-src DIR`, with warm): warm `/ndays`, `/healthz` and the 304 on a
  second service running another checkout's code, each next to this code's in the same rounds;
  the ratios current ÷ older.
- failure, abandoned (issue 9): each on services of its own with a short TTL (short_ttl.py).

A scenario set that needs processes of its own follows failure.py: it starts them from the
Fleet, returns a result dataclass (results.py) that becomes a field of `Report`, and has its
targets in judging.py and its section in report.py; its name goes in options.SCENARIO_NAMES.
"""
