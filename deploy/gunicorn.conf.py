"""Gunicorn settings for `gunicorn -c deploy/gunicorn.conf.py 'api:create_app()'`.

No `preload_app`: each worker builds its own eventsourcing application (and its
PostgreSQL pool) after the fork, so no connection is shared across processes.
"""

import multiprocessing
import os

bind = os.environ.get("APPRAISAL_BIND", "127.0.0.1:8000")
# Sync workers: request handling is short and CPU-bound (Ed25519, canonical JSON);
# two per core keeps the cores busy while another waits on PostgreSQL.
workers = int(os.environ.get("APPRAISAL_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "sync"
preload_app = False
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = 20000
max_requests_jitter = 2000
# nginx terminates TLS and sets X-Forwarded-*; trust it only from loopback.
forwarded_allow_ips = os.environ.get("APPRAISAL_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("APPRAISAL_LOG_LEVEL", "info")
