"""Logging: one structured line per request, JSON lines in production.

A request line holds the method, the route's *template* (``/applications/<token>``, never the
path a visitor typed), the status and the duration: no query string, no address, no token, no
personal data. Other records go through the same formatter, with private-link tokens redacted.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from flask import Flask, Response, g, request

request_log = logging.getLogger("remote_groups.requests")

# Private links: feeds, the applicant's status page, email subscriptions, staff members'
# password links. Repeated slashes reach the same pages (the router merges them).
_TOKEN_IN_PATH = re.compile(
    r"(/calendar/+[pf]/+|/applications/+|/subscriptions/+|/staff/+access/+)[^/?#\s\"']+?(?=\.ics\b|[/?#\s\"']|$)"
)
_TOKEN_IN_QUERY = re.compile(r"(token=)[^&#\s\"']+")
# Where a log line's words part: a word with a percent escape is decoded before redaction,
# since the server decodes ``/applications%2F<token>`` to the status page's path while access
# logs write the request line as it came.
_BETWEEN_WORDS = re.compile(r"([\s\"']+)")
_MAX_DECODINGS = 4
REDACTED = "…"
# Loggers that write paths as the visitor typed them (the development server's access log,
# gunicorn's if someone turns it on).
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access")

REQUEST_FIELDS = ("method", "path", "status", "duration_ms", "request_id")
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def _redact_plain(text: str) -> str:
    text = _TOKEN_IN_PATH.sub(rf"\g<1>{REDACTED}", text)
    return _TOKEN_IN_QUERY.sub(rf"\g<1>{REDACTED}", text)


def _redact_encoded(word: str) -> str:
    """A percent-encoded word that names a private link once decoded (also twice or more) is
    written decoded and redacted; control characters and spaces stay escaped, so a decoded
    ``%0A`` cannot start a forged log line."""
    decoded = word
    for _ in range(_MAX_DECODINGS):
        decoded, previous = unquote(decoded), decoded
        if decoded == previous:
            break
        redacted = _redact_plain(decoded)
        if redacted != decoded:
            return "".join(
                char if char.isprintable() and not char.isspace() else quote(char)
                for char in redacted
            )
    return word


def redact_tokens(text: str) -> str:
    if "%" in text:
        words = _BETWEEN_WORDS.split(text)
        text = "".join(_redact_encoded(word) if "%" in word else word for word in words)
    return _redact_plain(text)


class TokenFilter(logging.Filter):
    """Replaces tokens of private links in log lines that carry raw paths."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        redacted = redact_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_log_filter() -> None:
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenFilter) for f in logger.filters):
            logger.addFilter(TokenFilter())


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the request fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_tokens(record.getMessage()),
        }
        for field in REQUEST_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exception"] = redact_tokens(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Readable lines for development, with the request fields as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.formatTime(record)} {record.levelname} {record.name}: "
        line += redact_tokens(record.getMessage())
        fields = [f"{f}={getattr(record, f)}" for f in REQUEST_FIELDS if hasattr(record, f)]
        if fields:
            line += " " + " ".join(fields)
        if record.exc_info:
            line += "\n" + redact_tokens(self.formatException(record.exc_info))
        return line


def configure_logging(app: Flask) -> None:
    """Root handler on stderr with our formatter (once per process), level from LOG_LEVEL."""
    root = logging.getLogger()
    root.setLevel(app.config["LOG_LEVEL"])
    formatter = JsonFormatter() if app.config["LOG_FORMAT"] == "json" else TextFormatter()
    ours = [h for h in root.handlers if getattr(h, "remote_groups", False)]
    if ours:
        ours[0].setFormatter(formatter)
        return
    handler = logging.StreamHandler()
    handler.remote_groups = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter)  # both formatters redact tokens
    root.addHandler(handler)


def _start_timer() -> None:
    g.request_started = time.perf_counter()
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if _SAFE_REQUEST_ID.fullmatch(given) else secrets.token_hex(8)


def _log_request(response: Response) -> Response:
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    rule = request.url_rule.rule if request.url_rule else "<unmatched>"
    request_id = g.get("request_id", "-")
    response.headers.setdefault("X-Request-ID", request_id)
    request_log.info(
        "request",
        extra={
            "method": request.method,
            "path": rule,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "request_id": request_id,
        },
    )
    return response


def register(app: Flask) -> None:
    configure_logging(app)
    install_log_filter()
    app.before_request(_start_timer)
    app.after_request(_log_request)
