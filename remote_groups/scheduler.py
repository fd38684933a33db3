"""Scheduled jobs (APScheduler 3). `flask --app remote_groups scheduler run` is the production
process; `make run` starts the same jobs inside the development server.

Each job runs in its own request context (absolute links from BASE_URL) and transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from remote_groups.extensions import db
from remote_groups.web import request_context_for_jobs

log = logging.getLogger(__name__)


def _expire_offers() -> None:
    from remote_groups.applications.service import expire_offers

    if count := expire_offers():
        log.info("%d waiting-list offers expired", count)


def _sweep_and_deliver() -> None:
    """Queue what is due, commit, then send: a crash in between loses nothing."""
    from remote_groups.mail.sender import deliver_pending
    from remote_groups.mail.sweep import sweep

    sweep()
    db.session.commit()
    deliver_pending()


def _anonymize() -> None:
    from remote_groups.applications.service import anonymize_expired

    anonymize_expired()


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
    scheduler.add_job(
        run_job,
        "interval",
        minutes=1,
        args=[app, _sweep_and_deliver],
        id="mail",
        coalesce=True,
        max_instances=1,
    )
    scheduler.add_job(
        run_job,
        "interval",
        minutes=5,
        args=[app, _expire_offers],
        id="expire_offers",
        coalesce=True,
        max_instances=1,
    )
    scheduler.add_job(
        run_job,
        "cron",
        hour=3,
        minute=15,
        args=[app, _anonymize],
        id="anonymize",
        coalesce=True,
        max_instances=1,
    )


def make_scheduler(app: Flask, background: bool) -> BaseScheduler:
    kind = BackgroundScheduler if background else BlockingScheduler
    scheduler = kind(timezone=app.config["TIMEZONE"])
    add_jobs(app, scheduler)
    return scheduler
