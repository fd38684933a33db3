"""Small helpers shared by the views."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from flask import Flask


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


@contextmanager
def request_context_for_jobs(app: Flask) -> Iterator[None]:
    """A request context outside any request (commands, scheduled jobs), so mail can build
    absolute links from BASE_URL and pick a language."""
    with app.app_context(), app.test_request_context(base_url=app.config["BASE_URL"]):
        yield
