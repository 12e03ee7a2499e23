"""What the tests, the infra tests (infra/tests) and the bench (tools/bench) share, kept once.

- `upstream_texts`: the upstream's own notices, word for word.
- `builders`: bars, rows and `TIME_SERIES_DAILY` documents.
- `fake_upstream`: the fake Alpha Vantage (a real aiohttp server) with its fault modes; in process
  for the tests, `python -m tests.support.fake_upstream` for the bench.
- `serving`: serving an aiohttp app on a port until told to stop (the fake, the bench's baseline).
- `clock`: a clock the tests move by hand.
- `processes`: `free_port` and the one launcher of server processes (the service, nginx,
  Prometheus, redis-server...), ready when a check says so.
- `redis_server`: redis-server on that launcher; `programs`: finding a tool (skip, or fail in CI).
- `procfs`: a process's resident memory and CPU time; `wrk`: wrk with its one Lua script.
- `fixtures`: the pytest fixtures over these (registered by tests/conftest.py).

The modules import each other relatively and need nothing of the tests around them, because the
bench imports this package as the top-level `support` (its own tests are a package named
`tests`, so `tests.support` cannot be reached from there); everywhere else it is `tests.support`.
"""
