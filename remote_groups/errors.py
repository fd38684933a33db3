"""Localized error pages; the JSON API answers errors in JSON instead."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from remote_groups.extensions import db

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    code = error.code or 500
    if _wants_json():
        return jsonify(error={"code": code, "message": error.name}), code
    template = f"errors/{code}.html" if code in (400, 403, 404, 413, 422) else "errors/500.html"
    return render_template(template, code=code), code


def handle_unexpected(error: Exception) -> ResponseReturnValue:
    log.exception("unhandled error on %s %s", request.method, request.url_rule)
    db.session.rollback()
    return handle_http_error(InternalServerError())


def handle_csrf(error: CSRFError) -> ResponseReturnValue:
    if _wants_json():
        return jsonify(error={"code": 400, "message": error.description}), 400
    return render_template("errors/400.html", code=400, csrf=True), 400


def register(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
