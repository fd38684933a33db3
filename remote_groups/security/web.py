"""Security headers on every answer, and the rate-limit decorator for public forms."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, render_template, request
from flask.typing import ResponseReturnValue

from remote_groups.security import throttle

# No inline script or style anywhere: every page works with these (the browser tests run
# axe-core and a keyboard pass under this policy).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000; includeSubDomains"
PRIVATE_PREFIXES = ("/staff", "/applications/", "/subscriptions/")


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.path.startswith(PRIVATE_PREFIXES) and "Cache-Control" not in headers:
        # Staff pages and applicants' own pages hold personal data: no shared or disk cache.
        headers["Cache-Control"] = "no-store"
    return response


def too_many(seconds: int) -> ResponseReturnValue:
    minutes = throttle.minutes_to_wait(seconds)
    page = render_template("errors/429.html", code=429, minutes=minutes)
    return page, 429, {"Retry-After": str(seconds)}


def rate_limited(kind: str, limit_name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Count each POST to the view per client address; over the limit it answers 429.

    The address is ``request.remote_addr``: behind a reverse proxy set PROXY_FIX_X_FOR so it
    is the client's, not the proxy's.
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def limited(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            if request.method == "POST":
                wait = throttle.hit(
                    kind, request.remote_addr or "-", throttle.Limit.from_config(limit_name)
                )
                if wait is not None:
                    return too_many(wait)
            return view(*args, **kwargs)

        return limited

    return decorate


def register(app: Flask) -> None:
    app.after_request(add_security_headers)
