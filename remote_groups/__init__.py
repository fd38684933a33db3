"""remote_groups: remote day-activity groups run together by Finnish welfare regions."""

from __future__ import annotations

from typing import Any

from flask import Flask, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool
from werkzeug.middleware.proxy_fix import ProxyFix

from remote_groups.config import INSTANCE, ROOT, check_config, load_config
from remote_groups.extensions import babel, csrf, db, login_manager, migrate
from remote_groups.i18n import LANGUAGE_COOKIE, SUPPORTED, normalize_language
from remote_groups.public_address import PublicAddressFlask


def _is_sqlite(dbapi_connection: Any) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Foreign keys on and WAL journaling for SQLite; other databases are left alone.

    pysqlite's own transaction handling is switched off (SQLAlchemy's documented recipe):
    it would not BEGIN before a SAVEPOINT, so releasing one would commit at once.
    """
    if _is_sqlite(dbapi_connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a commit costs no fsync
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


@event.listens_for(Pool, "checkout")
def _sqlite_foreign_keys_on_checkout(
    dbapi_connection: Any, connection_record: Any, connection_proxy: Any
) -> None:
    """Foreign keys on again whenever a pooled SQLite connection is handed out: the
    migrations switch them off on their connection (batch mode needs it), and a connection
    that went back to the pool inside a transaction would otherwise keep them off."""
    if _is_sqlite(dbapi_connection):
        dbapi_connection.execute("PRAGMA foreign_keys=ON")


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection: Any) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN")


def select_locale() -> str:
    """The visitor's explicit choice, else a staff user's profile, else Accept-Language, else fi.

    Outside a request (commands, the scheduler) it is Finnish; mail picks its own language.
    """
    if not has_request_context():
        return "fi"
    chosen = request.args.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    if chosen:
        return normalize_language(chosen)
    if current_user and current_user.is_authenticated:
        return normalize_language(current_user.language)
    return request.accept_languages.best_match(SUPPORTED) or "fi"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = PublicAddressFlask(
        __name__,
        instance_path=str(INSTANCE),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    load_config(app, config)
    check_config(app.config)
    INSTANCE.mkdir(exist_ok=True)
    if app.config["PROXY_FIX_X_FOR"] or app.config["PROXY_FIX_X_PROTO"]:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=app.config["PROXY_FIX_X_FOR"],
            x_proto=app.config["PROXY_FIX_X_PROTO"],
        )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Europe/Helsinki")
    csrf.init_app(app)
    login_manager.init_app(app)

    # Imported here, not at the top: the package runs this file before any of its modules, so
    # a top-level import would load every blueprint and model for `import
    # remote_groups.rotation.planner`, and the views would import siblings of a half-imported
    # package. Creating the app is the moment the whole app is wanted.
    from remote_groups import cli, errors, formatting, health, logs, pages, staff_home
    from remote_groups.api.views import bp as api_bp
    from remote_groups.applications.views import bp as applications_bp
    from remote_groups.calendar.views import bp as calendar_bp
    from remote_groups.groups.views import public_bp, staff_groups_bp
    from remote_groups.notifications import receivers  # noqa: F401 (connects them)
    from remote_groups.notifications.course_mail import bp as course_mail_bp
    from remote_groups.notifications.views import bp as outbox_bp
    from remote_groups.regions.views import bp as staff_bp
    from remote_groups.rotation import service as rotation_service  # noqa: F401 (plans turns)
    from remote_groups.rotation.views import bp as rotation_bp
    from remote_groups.running.views import bp as running_bp
    from remote_groups.security import input_limits
    from remote_groups.security import web as security_web
    from remote_groups.subscriptions.views import bp as subscriptions_bp

    input_limits.register(app)  # before the blueprints: their routes take its int converter
    app.register_blueprint(public_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(staff_home.bp)
    app.register_blueprint(staff_groups_bp)
    app.register_blueprint(rotation_bp)
    app.register_blueprint(running_bp)
    app.register_blueprint(applications_bp)
    app.register_blueprint(subscriptions_bp)
    app.register_blueprint(outbox_bp)
    app.register_blueprint(course_mail_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(pages.bp)
    csrf.exempt(api_bp)
    errors.register(app)
    logs.register(app)
    security_web.register(app)
    formatting.register(app)
    staff_home.register(app)
    cli.register(app)

    @app.context_processor
    def inject_locale() -> dict[str, Any]:
        return {"current_locale": str(get_locale()), "languages": SUPPORTED}

    if app.config.get("RUN_SCHEDULER"):
        # `make run` keeps the scheduled jobs inside the development server process.
        from remote_groups.scheduler import make_scheduler

        make_scheduler(app, background=True).start()
    return app
