"""Retention of every copy: the outbox rows and .eml files about an application go with it,
old mail and old subscriptions are deleted, and nothing delivered can be sent again."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, text

from remote_groups import scheduler
from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.applications.service import applying, retention, reviewing, sending
from remote_groups.extensions import db
from remote_groups.groups.models import GroupKind, RemoteGroup
from remote_groups.groups.service import group_by_slug
from remote_groups.notifications.sweep import sweep
from remote_groups.outbox.models import REDACTED, OutboxMessage, OutboxStatus
from remote_groups.outbox.queue import RenderedMessage, enqueue
from remote_groups.outbox.retention import purge_outbox
from remote_groups.outbox.sender import deliver_pending, eml_file_name
from remote_groups.regions.models import User
from remote_groups.retention import apply_retention
from remote_groups.subscriptions.models import Subscription
from remote_groups.subscriptions.service import forget_subscriptions
from tests.applications.conftest import apply, id_of
from tests.conftest import NOW, csrf_token, login, make_group, make_region

NAME = "Aino Asiakas"
ADDRESS = "aino.asiakas@example.org"
PHONE = "+358 40 765 4321"
NEEDS = "MS-tauti, pyörätuoli"


@pytest.fixture
def mail_dir(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's development mail directory (file backend)."""
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "file")
    monkeypatch.setitem(app.config, "MAIL_DIR", str(tmp_path / "mail"))
    return tmp_path / "mail"


def coordinator() -> User:
    return db.session.scalar(select(User).where(User.email == "coord@lu.example.org"))


def after_retention(group: RemoteGroup) -> datetime:
    """A moment when the course's applications are due for anonymization (90 days)."""
    return datetime.combine(group.term_end + timedelta(days=91), time(12), UTC)


@pytest.fixture
def aino(client, app, course, ctx, mail_dir) -> Application:
    """Aino applied with her needs, was accepted with a message quoting them, asked for her
    status link again, and got invitations and reminders; all of it was delivered as .eml
    files. Returns her application, with her status token still known."""
    response = apply(client, name=NAME, email=ADDRESS, phone=PHONE, needs=NEEDS)
    assert response.status_code == 302
    application = db.session.get(Application, id_of(app, ADDRESS))
    reviewing.decide(
        [application],
        ApplicationStatus.accepted,
        coordinator(),
        f"Tervetuloa! Otamme huomioon: {NEEDS}.",
    )
    sending.send_decisions(application.group)
    applying.resend_status_link(application)
    first = group_by_slug("kurssi").sessions[0]
    sweep(first.starts_at - timedelta(days=6))  # the invitation
    sweep(first.starts_at - timedelta(hours=23))  # the reminder
    db.session.commit()
    deliver_pending(now=first.starts_at - timedelta(hours=22))
    return application


def about(application_id: int) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.application_id == application_id)
            .order_by(OutboxMessage.id)
        )
    )


def every_stored_value() -> list[str]:
    """Every value of every column of every table, as the database holds it."""
    values = []
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            for row in connection.execute(text(f"SELECT * FROM {table.name}")):
                values += [str(value) for value in row if value is not None]
    return values


def eml_texts(directory: Path) -> list[str]:
    """The decoded text of every part of every .eml file (bodies are quoted-printable)."""
    texts = []
    for path in directory.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        texts.append(str(message))
        for part in message.walk():
            if part.get_content_maintype() != "multipart":
                content = part.get_content()
                texts.append(content.decode() if isinstance(content, bytes) else content)
    return texts


def test_every_message_about_an_application_is_linked_to_it(aino):
    kinds = {row.kind for row in about(aino.id)}
    assert {
        "application_received",
        "application_accepted",
        "application_status_link",
        "invitation",
        "reminder",
    } <= kinds
    to_aino = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == ADDRESS))
    assert all(row.application_id == aino.id for row in to_aino)


def test_mail_about_staff_only_is_linked_to_no_application(aino):
    facilitators = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient != ADDRESS)
    )
    assert all(row.application_id is None for row in facilitators)


def test_after_anonymization_no_row_file_or_column_holds_anything_of_the_applicant(aino, mail_dir):
    token = aino.status_token
    messages = about(aino.id)
    files = [mail_dir / eml_file_name(row.message_id) for row in messages]
    assert all(path.exists() for path in files)
    assert any(NEEDS in part for part in eml_texts(mail_dir))  # the probe finds it before

    report = apply_retention(after_retention(group_by_slug("kurssi")))
    db.session.commit()

    assert report.anonymized == 1
    secrets = (NAME, ADDRESS, PHONE, NEEDS, "MS-tauti", token)
    stored = every_stored_value()
    for secret in secrets:
        assert not any(secret in value for value in stored), secret
    assert not any(path.exists() for path in files)
    for part in eml_texts(mail_dir):
        assert not any(secret in part for secret in secrets)


def test_redacted_rows_keep_kind_status_and_times_for_the_operator(aino):
    before = {row.id: (row.kind, row.status, row.created_at, row.sent_at) for row in about(aino.id)}
    late = after_retention(group_by_slug("kurssi"))

    retention.anonymize_expired(late)
    db.session.commit()

    rows = about(aino.id)
    assert {row.id: (row.kind, row.status, row.created_at, row.sent_at) for row in rows} == before
    for row in rows:
        assert (row.recipient, row.subject, row.text_body) == (
            "redacted@invalid",
            REDACTED,
            REDACTED,
        )
        assert row.html_body is row.calendar is row.unsubscribe_url is row.last_error is None
        assert row.redacted_at == late


def test_mail_still_waiting_about_an_anonymized_application_is_never_sent(aino):
    applying.resend_status_link(aino, now=NOW + timedelta(hours=5))
    db.session.commit()
    [waiting] = [row for row in about(aino.id) if row.status == OutboxStatus.pending]

    retention.anonymize_expired(after_retention(group_by_slug("kurssi")))
    db.session.commit()

    assert db.session.get(OutboxMessage, waiting.id).status == OutboxStatus.expired
    assert deliver_pending().sent == 0


def test_deleting_an_application_before_a_decision_redacts_its_receipt(
    client, app, course, ctx, mail_dir
):
    apply(client, name=NAME, email=ADDRESS, needs=NEEDS)
    application = db.session.get(Application, id_of(app, ADDRESS))
    deliver_pending()
    [receipt] = about(application.id)
    assert (mail_dir / eml_file_name(receipt.message_id)).exists()

    applying.delete_before_decision(application)
    db.session.commit()

    db.session.expire_all()
    row = db.session.get(OutboxMessage, receipt.id)
    assert (row.recipient, row.subject, row.application_id) == ("redacted@invalid", REDACTED, None)
    assert row.redacted_at is not None
    assert not (mail_dir / eml_file_name(receipt.message_id)).exists()


def test_the_anonymize_command_runs_every_retention_rule(app, aino):
    """The command runs at the real "now": the course is dated so it ended long before."""
    group = group_by_slug("kurssi")
    group.term_start = NOW.date() - timedelta(days=200)
    group.term_end = NOW.date() - timedelta(days=100)
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["data", "anonymize"])

    assert result.exit_code == 0, result.output
    assert "Anonymized 1 applications" in result.output
    assert all(row.redacted_at is not None for row in about(aino.id))


# --- old mail ---------------------------------------------------------------------------------


def queue_one(key: str, **values: object) -> OutboxMessage:
    row = enqueue(
        kind="subscription_confirm",
        key=key,
        recipient="someone@example.org",
        language="fi",
        message=RenderedMessage("Hei", "Hei!\n"),
    )
    for name, value in values.items():
        setattr(row, name, value)
    db.session.flush()
    return row


def test_sent_expired_and_failed_mail_is_deleted_after_the_keeping_period(ctx, mail_dir):
    day = timedelta(days=1)
    sent_long_ago = queue_one("1", status=OutboxStatus.sent, created_at=NOW, sent_at=NOW)
    sent_lately = queue_one("2", status=OutboxStatus.sent, created_at=NOW, sent_at=NOW + 5 * day)
    expired = queue_one("3", status=OutboxStatus.expired, created_at=NOW)
    failed = queue_one("4", status=OutboxStatus.failed, created_at=NOW)
    waiting = queue_one("5", status=OutboxStatus.pending, created_at=NOW)
    mail_dir.mkdir()
    eml = mail_dir / eml_file_name(sent_long_ago.message_id)
    eml.write_text("From: x\n")
    db.session.commit()
    old = {sent_long_ago.id, expired.id, failed.id}
    kept = {sent_lately.id, waiting.id}

    assert purge_outbox(NOW + 30 * day, keep_days=30) == 0
    assert purge_outbox(NOW + 31 * day, keep_days=30) == 3

    left = set(db.session.scalars(select(OutboxMessage.id)))
    assert left == kept and old.isdisjoint(left)
    assert not eml.exists()


def test_the_keeping_period_is_a_setting(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_KEEP_DAYS", 3)
    queue_one("1", status=OutboxStatus.sent, created_at=NOW, sent_at=NOW)

    assert purge_outbox(NOW + timedelta(days=4)) == 1


def test_the_nightly_job_applies_every_retention_rule(app, ctx):
    """The job runs at the clock's "now" (NOW): mail sent 31 days before it goes."""
    month_ago = NOW - timedelta(days=31)
    old = queue_one("1", status=OutboxStatus.sent, created_at=month_ago, sent_at=month_ago).id
    db.session.commit()
    job = scheduler.make_scheduler(app, background=True).get_job("retention")

    scheduler.run_job(*job.args)

    assert job.args[1] is scheduler._apply_retention
    assert db.session.get(OutboxMessage, old) is None


# --- subscriptions ----------------------------------------------------------------------------


@pytest.fixture
def open_group(ctx) -> RemoteGroup:
    region = make_region("lansi-uusimaa")
    db.session.flush()
    return make_group([region], slug="avoin", kind=GroupKind.open)


def subscription(group: RemoteGroup, address: str, **values: object) -> Subscription:
    row = Subscription(group=group, email=address, language="fi", created_at=NOW, **values)
    db.session.add(row)
    db.session.flush()
    return row


def remaining() -> set[str]:
    return set(db.session.scalars(select(Subscription.email)))


def test_an_unconfirmed_subscription_is_deleted_after_seven_days(open_group):
    subscription(open_group, "typed-by-someone@example.org")

    assert forget_subscriptions(NOW + timedelta(days=7), 7, 30) == 0
    assert forget_subscriptions(NOW + timedelta(days=7, seconds=1), 7, 30) == 1
    assert remaining() == set()


def test_an_ended_subscription_is_deleted_after_thirty_days(open_group):
    ended = NOW + timedelta(days=100)
    subscription(open_group, "left@example.org", confirmed_at=NOW, unsubscribed_at=ended)
    subscription(open_group, "stays@example.org", confirmed_at=NOW)

    assert forget_subscriptions(ended + timedelta(days=30), 7, 30) == 0
    assert forget_subscriptions(ended + timedelta(days=31), 7, 30) == 1
    assert remaining() == {"stays@example.org"}


def test_subscription_periods_are_settings(app, open_group, monkeypatch):
    monkeypatch.setitem(app.config, "SUBSCRIPTION_UNCONFIRMED_DAYS", 2)
    subscription(open_group, "typed@example.org")

    assert forget_subscriptions(NOW + timedelta(days=3)) == 1


def test_asking_again_restarts_the_confirmation_period(app, client, open_group, now):
    subscription(open_group, "late@example.org")
    db.session.commit()

    client.post(
        "/groups/avoin/subscribe",
        data={"email": "late@example.org", "language": "fi", "csrf_token": csrf_token(client)},
    )

    db.session.expire_all()
    assert forget_subscriptions(now + timedelta(days=6), 7, 30) == 0
    assert remaining() == {"late@example.org"}


# --- sending again ----------------------------------------------------------------------------


def resend(client, message_id: int):
    return client.post(
        f"/staff/outbox/{message_id}/resend", data={"csrf_token": csrf_token(client)}
    )


def state(app: Flask, message_id: int) -> tuple:
    with app.app_context():
        row = db.session.get(OutboxMessage, message_id)
        return (row.status, row.attempts, row.next_attempt_at, row.sent_at, row.redacted_at)


def test_a_delivered_message_cannot_be_sent_again(app, client, aino):
    sent = next(row for row in about(aino.id) if row.status == OutboxStatus.sent)
    assert not sent.resendable
    before = state(app, sent.id)
    login(client, "admin@example.org")

    response = resend(client, sent.id)

    assert response.status_code == 409
    assert "Vain viestin, jota ei ole toimitettu" in response.get_data(as_text=True)
    assert state(app, sent.id) == before


def test_a_message_about_an_anonymized_application_is_never_sent_again(app, client, aino):
    failed = next(row for row in about(aino.id) if row.status == OutboxStatus.sent)
    failed.status, failed.sent_at = OutboxStatus.failed, None
    db.session.commit()
    assert failed.resendable
    retention.anonymize_expired(after_retention(group_by_slug("kurssi")))
    db.session.commit()
    before = state(app, failed.id)
    login(client, "admin@example.org")

    page = client.get("/staff/outbox").get_data(as_text=True)
    response = resend(client, failed.id)

    assert f"/staff/outbox/{failed.id}/resend" not in page
    assert response.status_code == 409
    assert state(app, failed.id) == before


def test_the_outbox_page_offers_sending_again_only_for_undelivered_mail(client, course, ctx):
    waiting = queue_one("1", status=OutboxStatus.pending, attempts=2)
    failed = queue_one("2", status=OutboxStatus.failed, attempts=1)
    redacted = queue_one("3", status=OutboxStatus.failed, attempts=1, redacted_at=NOW)
    db.session.commit()
    login(client, "admin@example.org")

    page = client.get("/staff/outbox").get_data(as_text=True)

    assert f"/staff/outbox/{waiting.id}/resend" in page
    assert f"/staff/outbox/{failed.id}/resend" in page
    assert f"/staff/outbox/{redacted.id}/resend" not in page
