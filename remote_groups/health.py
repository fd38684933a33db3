"""Liveness and readiness for load balancers and orchestrators.

``/healthz``: the process answers and the database is reachable (200, else 503).
``/readyz``: ready to serve traffic: the database is reachable, its schema is at the newest
migration (so a worker started before ``flask db upgrade`` finished is kept out of rotation),
and the translation catalogs are compiled. Both answer JSON and hold no personal data.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from remote_groups.config import ROOT
from remote_groups.extensions import db

bp = Blueprint("health", __name__)


@cache
def newest_migration() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


def _database_revision() -> str | None:
    try:
        return db.session.scalar(text("SELECT version_num FROM alembic_version"))
    except SQLAlchemyError:
        db.session.rollback()
        return None


def _catalogs_compiled() -> bool:
    directory = Path(current_app.config["BABEL_TRANSLATION_DIRECTORIES"])
    return all(
        (directory / language / "LC_MESSAGES" / "messages.mo").is_file()
        for language in current_app.config["LANGUAGES"]
    )


def _database_reachable() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return False
    return True


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    if not _database_reachable():
        return jsonify(status="unavailable", database=False), 503
    return jsonify(status="ok", database=True)


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    reachable = _database_reachable()
    revision = _database_revision() if reachable else None
    checks = {
        "database": reachable,
        "schema": revision is not None and revision == newest_migration(),
        "catalogs": _catalogs_compiled(),
    }
    ready = all(checks.values())
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    if not ready and reachable:
        body["schema_revision"] = revision
        body["newest_migration"] = newest_migration()
    return jsonify(body), 200 if ready else 503
