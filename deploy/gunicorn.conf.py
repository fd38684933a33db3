"""gunicorn settings for production (README, "Production deployment").

    gunicorn -c deploy/gunicorn.conf.py 'remote_groups:create_app()'

Every setting can be changed from the environment without editing this file: GUNICORN_BIND,
WEB_CONCURRENCY (workers). The app writes one structured line per request itself, so
gunicorn's own access log stays off (it would repeat each line, with raw paths).
"""

import multiprocessing
import os
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30  # a worker silent this long is restarted
graceful_timeout = 30  # on restart, requests in flight may finish
keepalive = 5  # behind a reverse proxy on the same host or network
max_requests = 2000  # recycle workers now and then, so a slow leak never grows
max_requests_jitter = 200
accesslog = None
errorlog = "-"
loglevel = "info"
preload_app = False  # each worker opens its own database connections after the fork
if Path("/dev/shm").is_dir():
    worker_tmp_dir = "/dev/shm"  # heartbeat files off the disk
