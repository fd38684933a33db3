"""Scheduled jobs (APScheduler 3). `flask --app remote_groups scheduler run` is the production
process; `make run` starts the same jobs inside the development server.

Each job runs in its own request context (absolute links from BASE_URL) and transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from remote_groups.applications.service.waitlist import expire_offers
from remote_groups.extensions import db
from remote_groups.notifications.sweep import sweep
from remote_groups.outbox.sender import deliver_pending
from remote_groups.retention import apply_retention
from remote_groups.security.throttle import forget_old_counters
from remote_groups.web import request_context_for_jobs

log = logging.getLogger(__name__)

# Batches are sent one after another for at most this long each minute, so a big queue
# (an acceptance wave, a long outage) drains at full speed instead of 200 a minute.
DELIVERY_SECONDS = 50


def _expire_offers() -> None:
    if count := expire_offers():
        log.info("%d waiting-list offers expired", count)


def _sweep_and_deliver() -> None:
    """Queue what is due, commit, then send: a crash in between loses nothing."""
    sweep()
    db.session.commit()
    deadline = time.monotonic() + DELIVERY_SECONDS
    while time.monotonic() < deadline:
        report = deliver_pending()
        if report.retried or not (report.sent + report.failed + report.expired):
            break  # the queue is empty, or the mail server is struggling: wait a minute


def _apply_retention() -> None:
    apply_retention()


def _forget_old_counters() -> None:
    forget_old_counters()


def run_job(app: Flask, job: Callable[[], None]) -> None:
    """One job, one transaction: committed when it ends, rolled back (and logged) if it fails."""
    with request_context_for_jobs(app):
        try:
            job()
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("scheduled job %s failed", job.__name__)
        finally:
            db.session.remove()


def add_jobs(app: Flask, scheduler: BaseScheduler) -> None:
    jobs: list[tuple[str, Callable[[], None], dict[str, Any]]] = [
        ("mail", _sweep_and_deliver, {"trigger": "interval", "minutes": 1}),
        ("expire_offers", _expire_offers, {"trigger": "interval", "minutes": 5}),
        ("retention", _apply_retention, {"trigger": "cron", "hour": 3, "minute": 15}),
        ("forget_old_counters", _forget_old_counters, {"trigger": "cron", "hour": 3, "minute": 30}),
    ]
    for job_id, job, when in jobs:
        scheduler.add_job(
            run_job, args=[app, job], id=job_id, coalesce=True, max_instances=1, **when
        )


def make_scheduler(app: Flask, background: bool) -> BaseScheduler:
    kind = BackgroundScheduler if background else BlockingScheduler
    scheduler = kind(timezone=app.config["TIMEZONE"])
    add_jobs(app, scheduler)
    return scheduler
