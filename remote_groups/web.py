"""Small helpers shared by the views."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, flash

from remote_groups.extensions import db
from remote_groups.service import ServiceError

T = TypeVar("T")


def safe_local_path(target: str | None, fallback: str) -> str:
    """``target`` if it is a path on this site, else ``fallback``.

    Browsers drop tabs and newlines and read a backslash as a slash, so "/\\t/evil.example"
    would lead elsewhere: any such character makes the target unsafe.
    """
    if not target or any(ch.isspace() or not ch.isprintable() or ch == "\\" for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


def commit_or_flash_error(action: Callable[[], T], done: str | Callable[[T], str]) -> bool:
    """Run one service action as one transaction, for a view that redirects after it.

    Committed: flash ``done`` (a message, or one made from the action's result). Refused by
    the service (ServiceError): roll back and flash the refusal. True when it was committed.
    """
    try:
        result = action()
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return False
    flash(done(result) if callable(done) else done)
    return True


@contextmanager
def request_context_for_jobs(app: Flask) -> Iterator[None]:
    """A request context outside any request (commands, scheduled jobs), so mail can build
    absolute links from BASE_URL and pick a language."""
    with app.app_context(), app.test_request_context(base_url=app.config["BASE_URL"]):
        yield
