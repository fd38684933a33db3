"""Localized error pages; the JSON API answers errors in JSON instead."""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from remote_groups.extensions import db

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    code = error.code or 500
    if _wants_json():
        return jsonify(error={"code": code, "message": error.name}), code
    template = (
        f"errors/{code}.html" if code in (400, 403, 404, 413, 422, 429, 503) else "errors/500.html"
    )
    return render_template(template, code=code), code


def handle_unexpected(error: Exception) -> ResponseReturnValue:
    log.exception("unhandled error on %s %s", request.method, request.url_rule)
    db.session.rollback()
    return handle_http_error(InternalServerError())


RETRY_AFTER_SECONDS = 30


def is_database_unavailable(error: BaseException) -> bool:
    """The database cannot be reached (down, restarting, connection cut), as opposed to a bug.

    SQLAlchemy marks a cut connection ``connection_invalidated``; a refused or timed-out
    connect is a DBAPI OperationalError (psycopg and sqlite3 alike).
    """
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError)


def handle_database_unavailable(error: DBAPIError) -> ResponseReturnValue:
    """503 "try again soon" while the database is away; the pool reconnects by itself after
    (pool_pre_ping), so no restart is needed."""
    if not is_database_unavailable(error):
        return handle_unexpected(error)
    log.warning(
        "database unavailable on %s %s: %s",
        request.method,
        request.url_rule,
        type(error.orig).__name__,
    )
    try:
        db.session.remove()
    except SQLAlchemyError:
        db.session.registry.clear()  # the connection is gone; the pool replaces it later
    if "_login_user" not in g:
        # The page must not need the database: the visitor is shown as not logged in.
        g._login_user = AnonymousUserMixin()
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if _wants_json():
        body = {"code": 503, "message": "Service Unavailable: the database is not reachable"}
        return jsonify(error=body), 503, headers
    return render_template("errors/503.html", code=503), 503, headers


def close_session(error: BaseException | None) -> None:
    """End the request's session, even when its connection was cut under it.

    A request that already has its answer must not turn into a 500 because the database went
    away before the closing ROLLBACK (PostgreSQL restarting terminates every connection).
    Runs before Flask-SQLAlchemy's own teardown, which then finds nothing left to close.
    """
    try:
        db.session.remove()
    except DBAPIError as failure:
        if not is_database_unavailable(failure):
            raise
        log.warning(
            "database connection lost while closing the session: %s", type(failure.orig).__name__
        )
        db.session.registry.clear()


def handle_csrf(error: CSRFError) -> ResponseReturnValue:
    if _wants_json():
        return jsonify(error={"code": 400, "message": error.description}), 400
    return render_template("errors/400.html", code=400, csrf=True), 400


def register(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(DBAPIError, handle_database_unavailable)
    app.teardown_appcontext(close_session)
    app.register_error_handler(Exception, handle_unexpected)
