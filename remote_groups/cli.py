"""`flask --app remote_groups …` commands. (`db upgrade` comes from Flask-Migrate.)"""

from __future__ import annotations

import json
import os

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from remote_groups.applications.service.waitlist import expire_offers as expire
from remote_groups.backup.document import BackupError, summary
from remote_groups.backup.exporting import export_region
from remote_groups.backup.importing import import_region
from remote_groups.demo import database_is_empty, load_demo
from remote_groups.encryption import rotate_encrypted_columns
from remote_groups.extensions import db
from remote_groups.groups.service import group_by_slug
from remote_groups.notifications.sweep import sweep
from remote_groups.outbox.sender import deliver_pending
from remote_groups.regions.models import Role
from remote_groups.regions.passwords import password_problem
from remote_groups.regions.service import save_user, user_by_email
from remote_groups.retention import apply_retention
from remote_groups.rotation.service import apply_plan, preview_plan
from remote_groups.scheduler import make_scheduler
from remote_groups.service import ServiceError
from remote_groups.web import request_context_for_jobs

demo_cli = AppGroup("demo", help="Demo data.")
users_cli = AppGroup("users", help="Staff users.")
rotation_cli = AppGroup("rotation", help="Host rotation.")
data_cli = AppGroup("data", help="Personal data: retention, region export and import.")
applications_cli = AppGroup("applications", help="Closed-course applications.")
scheduler_cli = AppGroup("scheduler", help="Scheduled jobs.")
mail_cli = AppGroup("mail", help="The mail outbox.")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has data.")
def demo_load(if_empty: bool) -> None:
    """Load the demo regions, staff, groups and sessions, dated relative to today."""
    if not database_is_empty():
        if if_empty:
            click.echo("The database already has data; the demo was not loaded again.")
            return
        raise click.ClickException(
            "The database already has data; load the demo into an empty one."
        )
    logins = load_demo()
    db.session.commit()
    click.echo("Demo loaded. Staff logins (demo passwords, for trying the service out):")
    for login in logins:
        click.echo(f"  {login.role:<12} {login.email:<42} {login.password}")


@users_cli.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="REMOTE_GROUPS_ADMIN_PASSWORD",
)
def create_admin(email: str, name: str, password: str) -> None:
    """Create an administrator, or reset one's password (which ends their logins) and make
    them active again: with a shell on the server this is the way back in when no
    administrator can log in."""
    with force_locale("en"):
        problem = password_problem(password, (email, name))
        if problem is not None:
            raise click.BadParameter(str(problem), param_hint="--password")
    user = save_user(
        user_by_email(email),
        email=email,
        name=name,
        role=Role.admin,
        region=None,
        language="fi",
        password=password,
        one_time_password=False,  # typed by the administrator themselves
    )
    user.active = True
    db.session.commit()
    click.echo(f"Administrator {user.email} is ready.")


@rotation_cli.command("plan")
@click.argument("slug")
@click.option("--dry-run", is_flag=True, help="Show what would change, and save nothing.")
def rotation_plan(slug: str, dry_run: bool) -> None:
    """Print a group's host plan; without --dry-run, save it."""
    group = group_by_slug(slug)
    if group is None:
        raise click.ClickException(f"No group {slug!r}.")
    try:
        preview = preview_plan(group) if dry_run else apply_plan(group)
    except ServiceError as error:
        raise click.ClickException(str(error.message)) from None
    zone = group.zone
    for session in group.sessions:
        if session.cancelled:
            continue
        host = preview.plan.get(session.id) or "-"
        change = preview.changes.get(session.id)
        note = f"  (was {change[0] or '-'})" if change else ""
        click.echo(f"{session.starts_at.astimezone(zone):%Y-%m-%d %H:%M}  {host}{note}")
    counts = ", ".join(f"{slug}: {count}" for slug, count in preview.counts.items())
    click.echo(f"Turns: {counts}")
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run: {len(preview.changes)} turns would change; nothing was saved.")
    else:
        db.session.commit()
        click.echo(f"Saved: {len(preview.changes)} turns changed.")


@data_cli.command("anonymize")
def data_anonymize() -> None:
    """Apply the retention rule once: anonymize applications to courses that ended long ago
    (and redact the mail about them), delete old mail, old subscriptions and old staff
    password links."""

    report = apply_retention()
    db.session.commit()
    click.echo(
        f"Anonymized {report.anonymized} applications; deleted {report.purged_messages} old "
        f"messages, {report.deleted_subscriptions} old subscriptions, "
        f"{report.deleted_staff_links} old staff password links and "
        f"{report.deleted_session_notes} old notes of sessions."
    )


@data_cli.command("rotate-key")
@click.option("--batch-size", default=500, show_default=True, help="Rows per transaction.")
def data_rotate_key(batch_size: int) -> None:
    """Re-encrypt every encrypted value (applicants' needs) with the newest data key, the
    first of DATA_KEYS. Safe to stop and run again. Remove an old key only after a run that
    reports nothing undecryptable."""

    report = rotate_encrypted_columns(batch_size)
    click.echo(
        f"Re-encrypted {report.rotated} values with the newest key; "
        f"{report.current} already used it."
    )
    if report.undecryptable:
        raise click.ClickException(
            f"{len(report.undecryptable)} values open with no key in DATA_KEYS and were left "
            f"as they are ({', '.join(report.undecryptable[:20])}"
            + (", …" if len(report.undecryptable) > 20 else "")
            + "). Put the missing key back in DATA_KEYS, after the newest, and run again."
        )


@data_cli.command("export-region")
@click.argument("slug")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file (a new file is readable by its owner only), not standard output.",
)
@click.option(
    "--with-applications",
    is_flag=True,
    help="Include applications to the region's courses: personal and health-related data.",
)
def data_export_region(slug: str, output: str | None, with_applications: bool) -> None:
    """Export a region as JSON: the region, its staff (with password hashes), blackouts, the
    groups it owns and their sessions. No feed tokens, outbox mail or subscriptions."""

    try:
        document = export_region(slug, with_applications=with_applications)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        with open(os.open(output, flags, 0o600), "w", encoding="utf-8") as file:
            file.write(text)
    click.echo(f"Exported region {slug}: {summary(document)}.", err=True)
    if with_applications:
        click.echo(
            "Warning: the export holds applications, personal and health-related data. "
            "Keep it encrypted, readable only by those who need it, and delete it when done.",
            err=True,
        )


@data_cli.command("import-region")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def data_import_region(file: str) -> None:
    """Import a region exported by `data export-region`, in one transaction: all or nothing."""
    try:
        with open(file, encoding="utf-8") as source:
            document = json.load(source)
    except ValueError as error:  # not JSON, or not UTF-8
        raise click.ClickException(f"{file} is not a JSON document ({error}).") from None
    try:
        unknown_staff = import_region(document)
    except BackupError as error:
        raise click.ClickException(f"{error} Nothing was imported.") from None
    click.echo(f"Imported region {document['region']['slug']}: {summary(document)}.")
    if unknown_staff:
        click.echo(f"Not in this installation, so left unassigned: {', '.join(unknown_staff)}.")


@applications_cli.command("expire-offers")
def expire_offers() -> None:
    """Pass unconfirmed waiting-list offers on after their deadline, once."""
    with request_context_for_jobs(current_app._get_current_object()):
        count = expire()
        db.session.commit()
    click.echo(f"{count} offers expired.")


@scheduler_cli.command("run")
def scheduler_run() -> None:
    """Run the scheduled jobs until stopped (the production scheduler process)."""
    scheduler = make_scheduler(current_app._get_current_object(), background=False)
    click.echo("Scheduler running; press Ctrl+C to stop.")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("Scheduler stopped.")


@mail_cli.command("sweep")
def mail_sweep() -> None:
    """Queue due reminders and notices once."""
    with request_context_for_jobs(current_app._get_current_object()):
        report = sweep()
        db.session.commit()
    if not report.ran:
        click.echo("Another sweep is running; nothing was done.")
    click.echo(f"Queued {report.queued} messages.")


@mail_cli.command("deliver")
@click.option("--limit", default=200, show_default=True, help="Messages in one batch.")
def mail_deliver(limit: int) -> None:
    """Send pending mail once."""
    with request_context_for_jobs(current_app._get_current_object()):
        report = deliver_pending(limit)
    click.echo(
        f"Sent {report.sent}, retry later {report.retried}, failed {report.failed}, "
        f"expired {report.expired}."
    )


def register(app: Flask) -> None:
    app.cli.add_command(demo_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(rotation_cli)
    app.cli.add_command(data_cli)
    app.cli.add_command(applications_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(mail_cli)
