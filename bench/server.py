"""The app under gunicorn for benchmarks: a free loopback port, a started server, plain GETs.

``gunicorn(database_url)`` runs ``python -m gunicorn 'remote_groups:create_app()'`` as
production does, with the database URL and a random secret key in its environment, and stops
it however the block ends. Its output goes to a log file, so a benchmark can quote it when
something fails.

Every benchmark client connects from 127.0.0.1, so a benchmark that sends many applications
or logins passes ``env=NO_RATE_LIMITS``: the per-address limits would otherwise refuse its
load after a few requests, and measure the limit instead of the service.
"""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 15.0
NO_RATE_LIMITS = {
    "REMOTE_GROUPS_RATE_LIMIT_APPLICATIONS": "[1000000, 60]",
    "REMOTE_GROUPS_RATE_LIMIT_LOGIN": "[1000000, 60]",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    """One GET on its own connection: status, headers and body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def wait_until_healthy(
    port: int, server: subprocess.Popen, log: Path, timeout: float = START_TIMEOUT_SECONDS
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if fetch(port, "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer /healthz within {timeout} s")


@contextmanager
def gunicorn(
    database_url: str,
    workers: int = 2,
    options: Sequence[str] = (),
    log: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[int]:
    """Serve the app with ``workers`` sync workers on a free port; yields the port.

    ``options`` are extra gunicorn arguments (e.g. ``("--timeout", "60")``), and ``env`` extra
    environment variables for the server (e.g. ``NO_RATE_LIMITS``). The output goes to
    ``log``, or to a temporary file removed afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="bench-gunicorn-") as directory:
        log = log or Path(directory) / "gunicorn.log"
        port = free_port()
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_hex(32),
            **(env or {}),
        }
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            *options,
            "remote_groups:create_app()",
        ]
        with log.open("wb") as log_file:
            server = subprocess.Popen(
                command, cwd=ROOT, env=environment, stdout=log_file, stderr=subprocess.STDOUT
            )
        try:
            wait_until_healthy(port, server, log)
            yield port
        finally:
            server.terminate()
            try:
                server.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
