"""Migration 0008: outbox rows linked to their applications, needs encrypted, and back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.applications.service import reviewing, sending
from remote_groups.extensions import db
from remote_groups.groups.service import group_by_slug
from remote_groups.notifications.sweep import sweep
from remote_groups.outbox.models import OutboxMessage
from remote_groups.regions.models import User
from tests.applications.conftest import apply, id_of

MIGRATIONS = str(Path(__file__).parent.parent.parent / "migrations")
BEFORE = "0007_staff_accounts"
NEEDS = "MS-tauti, pyörätuoli"


@pytest.fixture
def before_0008(app: Flask, client, course) -> Iterator[dict[str, int]]:
    """Aino (accepted, invited) and Bert (waiting) applied with needs; the schema is then
    taken back to before 0008, and brought up to the newest afterwards whatever happens."""
    apply(client, email="aino@example.org", needs=NEEDS)
    apply(client, email="bert@example.org", needs=None)
    ids = {"aino": id_of(app, "aino@example.org"), "bert": id_of(app, "bert@example.org")}
    with app.app_context(), app.test_request_context():
        coordinator = db.session.scalar(select(User).where(User.email == "coord@lu.example.org"))
        aino = db.session.get(Application, ids["aino"])
        reviewing.decide([aino], ApplicationStatus.accepted, coordinator, "Tervetuloa")
        sending.send_decisions(aino.group)
        first = group_by_slug("kurssi").sessions[0]
        first.lead_facilitator = db.session.scalar(
            select(User).where(User.email == "fac@lu.example.org")
        )
        sweep(first.starts_at - timedelta(hours=23))  # invitations, reminders, a turn notice
        db.session.commit()
        downgrade(directory=MIGRATIONS, revision=BEFORE)
    try:
        yield ids
    finally:
        with app.app_context():
            upgrade(directory=MIGRATIONS)


def raw(app: Flask, sql: str) -> list[tuple]:
    with app.app_context(), db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def test_downgrading_0008_leaves_the_needs_in_plain_text_and_drops_the_columns(app, before_0008):
    with app.app_context():
        columns = {c["name"] for c in inspect(db.engine).get_columns("outbox_messages")}
    assert {"application_id", "redacted_at"}.isdisjoint(columns)
    assert set(raw(app, "SELECT needs FROM applications")) == {(None,), (NEEDS,)}


def test_upgrading_to_0008_encrypts_the_needs_already_stored(app, before_0008):
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        assert db.session.get(Application, before_0008["aino"]).needs == NEEDS
    stored = dict(raw(app, "SELECT id, needs FROM applications"))
    assert "MS-tauti" not in stored[before_0008["aino"]]
    assert stored[before_0008["bert"]] is None


def test_upgrading_to_0008_links_each_applicants_mail_to_the_application(app, before_0008):
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        rows = list(db.session.scalars(select(OutboxMessage)))
    links = {(row.kind, row.recipient): row.application_id for row in rows}
    aino, bert = before_0008["aino"], before_0008["bert"]
    assert links[("application_received", "aino@example.org")] == aino
    assert links[("application_accepted", "aino@example.org")] == aino
    assert links[("invitation", "aino@example.org")] == aino
    assert links[("reminder", "aino@example.org")] == aino
    assert links[("application_received", "bert@example.org")] == bert
    assert links[("turn_next_week", "fac@lu.example.org")] is None
    assert links[("reminder", "fac@lu.example.org")] is None


def test_an_upgrade_with_nothing_to_do_leaves_sqlite_enforcing_foreign_keys(app):
    """Migrations run on SQLite with foreign keys off (migrations/env.py); the connection goes
    back to the pool afterwards, so it must enforce them again, or ON DELETE SET NULL (an
    outbox row's application) silently stops working for whoever uses it next."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("a SQLite pragma")
        upgrade(directory=MIGRATIONS)  # already at the newest: nothing to do
        with db.engine.connect() as connection:  # the pool hands back the same connection
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
