"""`flask --app remote_groups …` commands. (`db upgrade` comes from Flask-Migrate.)"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from remote_groups.extensions import db
from remote_groups.regions.models import Role
from remote_groups.regions.service import save_user, user_by_email
from remote_groups.web import request_context_for_jobs

demo_cli = AppGroup("demo", help="Demo data.")
users_cli = AppGroup("users", help="Staff users.")
rotation_cli = AppGroup("rotation", help="Host rotation.")
data_cli = AppGroup("data", help="Personal data and retention.")
applications_cli = AppGroup("applications", help="Closed-course applications.")
scheduler_cli = AppGroup("scheduler", help="Scheduled jobs.")
mail_cli = AppGroup("mail", help="The mail outbox.")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has data.")
def demo_load(if_empty: bool) -> None:
    """Load the demo regions, staff, groups and sessions, dated relative to today."""
    from remote_groups.demo import database_is_empty, load_demo

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
    """Create an administrator (or reset one's password)."""
    if len(password) < 12:
        raise click.BadParameter("use at least 12 characters", param_hint="--password")
    user = save_user(
        user_by_email(email),
        email=email,
        name=name,
        role=Role.admin,
        region=None,
        language="fi",
        password=password,
    )
    db.session.commit()
    click.echo(f"Administrator {user.email} is ready.")


@rotation_cli.command("plan")
@click.argument("slug")
@click.option("--dry-run", is_flag=True, help="Show what would change, and save nothing.")
def rotation_plan(slug: str, dry_run: bool) -> None:
    """Print a group's host plan; without --dry-run, save it."""
    from remote_groups.groups.service import group_by_slug
    from remote_groups.rotation.service import apply_plan, preview_plan
    from remote_groups.service import ServiceError

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
    """Apply the retention rule once: anonymize applications to courses that ended long ago."""
    from remote_groups.applications.service import anonymize_expired

    count = anonymize_expired()
    db.session.commit()
    click.echo(f"Anonymized {count} applications.")


@applications_cli.command("expire-offers")
def expire_offers() -> None:
    """Pass unconfirmed waiting-list offers on after their deadline, once."""
    from remote_groups.applications.service import expire_offers as expire

    with request_context_for_jobs(current_app._get_current_object()):
        count = expire()
        db.session.commit()
    click.echo(f"{count} offers expired.")


@scheduler_cli.command("run")
def scheduler_run() -> None:
    """Run the scheduled jobs until stopped (the production scheduler process)."""
    from remote_groups.scheduler import make_scheduler

    scheduler = make_scheduler(current_app._get_current_object(), background=False)
    click.echo("Scheduler running; press Ctrl+C to stop.")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("Scheduler stopped.")


@mail_cli.command("sweep")
def mail_sweep() -> None:
    """Queue due reminders and notices once."""
    from remote_groups.mail.sweep import sweep

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
    from remote_groups.mail.sender import deliver_pending

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
