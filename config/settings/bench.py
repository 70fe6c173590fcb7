"""The HTTP benchmark's server (bench/http_bench.py, `make bench`): the production settings, plus
only what a load test on one machine needs. Never used by a real deployment.

- The write rate limit is lifted (LOYALTY_BENCH_API_RATE, default 100,000,000/min): at 16
  connections a single key would pass production's 6,000/min within a minute, and the bench
  measures the engine, not the throttle. The throttle itself still runs (its cache round trip
  per write is part of production's cost).
- ROOT_URLCONF is bench.ceiling, which mounts the ceiling views (the same transaction written by
  hand in SQL) under /bench/ and then the production URLs unchanged: production's URLs never
  see those views.

Everything else (DEBUG off, the secret key check, the middleware, CONN_MAX_AGE, the Redis cache)
is production's, so the figures are production's."""

from .production import *  # noqa: F403
from .production import env

LOYALTY_API_RATE = env("LOYALTY_BENCH_API_RATE", default="100000000/min")
ROOT_URLCONF = "bench.ceiling"
