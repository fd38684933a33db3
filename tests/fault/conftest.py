"""Fault-test helpers: the service's own commands run as separate processes on the test
database, so a fault (a stopped mail server, a killed process) hits a real process.

Every process and every wait is bounded (``TIMEOUT``): a hang fails the test instead of
blocking the run.

Fault tests run on the real clock (marker ``real_clock``), not the frozen one of the other
tests: the processes they start cannot see a frozen clock, so their data is dated from the
clock those processes read (``utcnow()``). Under ``make test-dates`` that is faketime's, which
the processes inherit through the environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent.parent
TIMEOUT = 60  # seconds


def flask_env(app: Flask, smtp_port: int | None = None) -> dict[str, str]:
    """The environment of a `flask --app remote_groups` process on the test app's database
    (and, given a port, sending plain SMTP to 127.0.0.1:port)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("REMOTE_GROUPS_") and name not in ("DATABASE_URL", "SECRET_KEY")
    }
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SECRET_KEY=app.config["SECRET_KEY"],
        REMOTE_GROUPS_MAIL_DIR=app.config["MAIL_DIR"],
        REMOTE_GROUPS_LOG_LEVEL="INFO",
    )
    if smtp_port is not None:
        env.update(
            REMOTE_GROUPS_MAIL_BACKEND="smtp",
            REMOTE_GROUPS_SMTP_HOST="127.0.0.1",
            REMOTE_GROUPS_SMTP_PORT=str(smtp_port),
            REMOTE_GROUPS_SMTP_SECURITY="none",
            REMOTE_GROUPS_SMTP_TIMEOUT="5",
        )
    return env


def flask_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "remote_groups", *args]


def run_flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run one command to its end (at most ``TIMEOUT`` seconds)."""
    return subprocess.run(
        flask_command(*args), env=env, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT
    )


def start_flask(env: dict[str, str], output: IO[str], *args: str) -> subprocess.Popen[str]:
    """Start a command in the background, its stdout and stderr (the log) going to ``output``."""
    return subprocess.Popen(
        flask_command(*args), env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, text=True
    )


def wait_for(
    condition: Callable[[], bool],
    what: str,
    process: subprocess.Popen[str] | None = None,
    timeout: float = TIMEOUT,
) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds, or at once if
    ``process`` ended first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the process ended (code {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)
