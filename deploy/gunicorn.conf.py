"""Gunicorn settings for `gunicorn -c deploy/gunicorn.conf.py 'api:create_app()'`.

The same options `appraisal serve` uses (entrypoints/serve.py: gthread workers, no
preload so each worker opens its own store after the fork, the readiness warm-up
that starts each worker's checkpointer, JSON logs, multiprocess metrics clean-up),
plus what a production host adds: worker count from the environment, recycling,
and trusting nginx's forwarded headers from loopback only.
"""

import multiprocessing
import os

from entrypoints.serve import gunicorn_options

_host, _, _port = os.environ.get("APPRAISAL_BIND", "127.0.0.1:8000").rpartition(":")
globals().update(
    gunicorn_options(
        _host,
        int(_port),
        workers=int(os.environ.get("APPRAISAL_WORKERS", multiprocessing.cpu_count() * 2)),
        threads=int(os.environ.get("APPRAISAL_THREADS", "4")),
    )
)
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = 20000
max_requests_jitter = 2000
forwarded_allow_ips = os.environ.get("APPRAISAL_FORWARDED_ALLOW_IPS", "127.0.0.1")
