"""The outbox sender against a real SMTP server on loopback (aiosmtpd).

What arrives (MIME structure, language, iCalendar METHOD/UID/SEQUENCE, List-Unsubscribe),
how failures are handled (4xx and outages retried with backoff, 5xx failed once), and that
nothing is lost when a sender dies: a later run delivers each message, with at most one
duplicate per crash.
"""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import icalendar
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, select, update

from remote_groups.config import INSTANCE, Defaults
from remote_groups.extensions import db
from remote_groups.outbox.models import OutboxMessage, OutboxStatus
from remote_groups.outbox.queue import InvalidRecipient, enqueue, render_message
from remote_groups.outbox.sender import (
    FIRST_RETRY,
    LEASE,
    LONGEST_RETRY,
    MAX_ATTEMPTS,
    SmtpTransport,
    backoff,
    build_email,
    claim_batch,
    deliver_pending,
    eml_file_name,
)
from remote_groups.regions.models import Region
from remote_groups.types import utcnow
from tests.conftest import make_group, make_region
from tests.mail.conftest import (
    RecordingHandler,
    SmtpServer,
    free_port,
    invitation,
    plain,
    queue,
    rows,
    use_smtp,
)

SESSION_START = datetime(2027, 3, 4, 11, 0, tzinfo=UTC)


def parts(message: EmailMessage) -> list[str]:
    return [part.get_content_type() for part in message.walk()]


def text_of(message: EmailMessage) -> str:
    """The plain-text body as the recipient reads it (SMTP carries CRLF line ends)."""
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def open_group(title_fi: str = "Testiryhmä"):
    regions: list[Region] = [make_region("lansi-uusimaa")]
    db.session.flush()
    return make_group(regions, title_fi=title_fi)


# --- what arrives ---------------------------------------------------------------------------


def test_a_pending_message_arrives_over_smtp_with_its_headers(app, ctx, smtp):
    [row_id] = queue(recipient="aino@example.org")

    report = deliver_pending()

    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [received] = smtp.received
    assert received.rcpt_tos == ("aino@example.org",)
    assert received.mail_from == app.config["MAIL_FROM"]
    message = received.message
    assert message["To"] == "aino@example.org"
    assert message["Subject"] == "Viesti 0"
    assert message["Message-ID"] == db.session.get(OutboxMessage, row_id).message_id
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"]
    assert message["List-Unsubscribe"] is None
    assert parts(message) == ["text/plain"]
    assert text_of(message) == "Viestin 0 teksti.\n"
    [row] = rows()
    assert row.status == OutboxStatus.sent
    assert (row.attempts, row.last_error) == (1, None)
    assert row.sent_at is not None


def test_a_message_arrives_in_the_recipients_language(app, ctx, smtp):
    group = open_group()
    for language in ("fi", "sv"):
        message = render_message(
            "subscription_confirm", language, group=group, confirm_url="https://x.example/c"
        )
        enqueue(
            kind="subscription_confirm",
            key=language,
            recipient=f"{language}@example.org",
            language=language,
            message=message,
        )
    db.session.commit()

    deliver_pending()

    by_recipient = {m["To"]: m for m in smtp.messages()}
    swedish, finnish = by_recipient["sv@example.org"], by_recipient["fi@example.org"]
    assert swedish["Subject"] == "Bekräfta påminnelserna: Testgrupp"
    assert "Om det var du, bekräfta här:" in text_of(swedish)
    assert finnish["Subject"] == "Vahvista muistutukset: Testiryhmä"
    assert "Jos pyysit niitä itse, vahvista tästä:" in text_of(finnish)


def test_a_message_states_its_language_in_content_language(app, ctx, smtp):
    queue(recipient="sv{}@example.org", language="sv")
    invite = invitation("u@x", 0, "REQUEST", SESSION_START)
    queue(recipient="fi{}@example.org", language="fi", calendar=invite)

    deliver_pending()

    assert {m["To"]: m["Content-Language"] for m in smtp.messages()} == {
        "sv0@example.org": "sv",
        "fi0@example.org": "fi",
    }


def test_one_smtp_connection_carries_a_whole_batch(app, ctx, smtp):
    queue(5)

    assert deliver_pending().sent == 5

    assert len(smtp.received) == 5
    assert len({received.peer for received in smtp.received}) == 1


@pytest.mark.parametrize(
    ("method", "filename"), [("REQUEST", "invite.ics"), ("CANCEL", "cancel.ics")]
)
def test_an_invitation_carries_text_calendar_with_method_uid_and_sequence(
    app, ctx, smtp, method, filename
):
    ics = invitation("session-42@remote-groups", 3, method, SESSION_START)
    queue(calendar=ics, calendar_method=method)

    deliver_pending()

    message = smtp.only_message()
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == [
        "text/plain",
        "text/calendar",
    ]
    text_part, calendar_part = alternative.get_payload()
    assert text_of(text_part) == "Viestin 0 teksti.\n"
    assert calendar_part.get_param("method") == method
    assert calendar_part.get_content_charset() == "utf-8"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == filename
    for calendar_bytes in (calendar_part.get_content().encode(), attachment.get_content()):
        calendar = icalendar.Calendar.from_ical(calendar_bytes)
        assert calendar["METHOD"] == method
        [event] = calendar.walk("VEVENT")
        assert str(event["UID"]) == "session-42@remote-groups"
        assert int(event["SEQUENCE"]) == 3


def test_a_subscribers_message_carries_one_click_list_unsubscribe(app, ctx, smtp):
    url = "http://localhost/subscriptions/abc123/unsubscribe"
    queue(unsubscribe_url=url)

    deliver_pending()

    message = smtp.only_message()
    assert message["List-Unsubscribe"] == f"<{url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_development_default_writes_eml_files_under_instance_mail():
    assert Defaults.MAIL_BACKEND == "file"
    assert Path(Defaults.MAIL_DIR) == INSTANCE / "mail"


def test_the_file_backend_writes_one_eml_file_per_message(app, ctx, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "file")
    monkeypatch.setitem(app.config, "MAIL_DIR", str(tmp_path / "mail"))
    ids = queue(2)

    assert deliver_pending().sent == 2

    files = {f.name: f for f in (tmp_path / "mail").glob("*.eml")}
    message_ids = [db.session.get(OutboxMessage, i).message_id for i in ids]
    assert sorted(files) == sorted(eml_file_name(m) for m in message_ids)
    assert files[eml_file_name(message_ids[0])].read_bytes().startswith(b"Subject: Viesti 0")


@pytest.mark.parametrize(
    ("message_id", "name"),
    [
        ("<0b5c6f3e8d1a4c2e9f7b2a6d4e8c1b90@127.0.0.1>", "0b5c6f3e8d1a4c2e9f7b2a6d4e8c1b90.eml"),
        ("<outbox-7@127.0.0.1>", "outbox-7.eml"),
        ("<../../etc/passwd@127.0.0.1>", "______etc_passwd.eml"),
        ("<@127.0.0.1>", "message.eml"),
    ],
)
def test_the_file_backend_names_files_safely_after_the_message_id(message_id, name):
    assert eml_file_name(message_id) == name


# --- Message-IDs ----------------------------------------------------------------------------


def test_a_message_id_is_a_random_uuid_at_the_sites_host(app, ctx):
    queue(3)
    message_ids = [row.message_id for row in rows()]
    assert all(re.fullmatch(r"<[0-9a-f]{32}@127\.0\.0\.1>", m) for m in message_ids)
    assert len(set(message_ids)) == 3


def test_a_row_id_handed_out_again_does_not_repeat_a_message_id(app, ctx, smtp):
    """As after a restore, or in another installation: a new message gets the id of one
    already sent, and still a Message-ID of its own."""
    [first_id] = queue(1)
    deliver_pending()
    db.session.execute(delete(OutboxMessage))
    [second_id] = queue(1, recipient="other{}@example.org")
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == second_id).values(id=first_id)
    )
    db.session.commit()

    deliver_pending()

    assert [r.rcpt_tos for r in smtp.received] == [
        ("person0@example.org",),
        ("other0@example.org",),
    ]
    assert len(smtp.message_ids()) == 2


def test_a_retried_message_keeps_the_message_id_it_was_queued_with(app, ctx, smtp, monkeypatch):
    smtp.handler.refuse["person0@example.org"] = "451 4.3.0 try again"
    [row_id] = queue(1)
    queued_with = db.session.get(OutboxMessage, row_id).message_id
    attempted: list[str] = []
    really_send = SmtpTransport.send

    def send_and_note(self, message):
        attempted.append(message["Message-ID"])
        really_send(self, message)

    monkeypatch.setattr(SmtpTransport, "send", send_and_note)
    assert deliver_pending().retried == 1
    del smtp.handler.refuse["person0@example.org"]
    assert deliver_pending(now=utcnow() + timedelta(minutes=2)).sent == 1

    assert attempted == [queued_with, queued_with]
    assert [r.message_id for r in smtp.received] == [queued_with]


def test_the_mail_deliver_command_sends_once_and_reports(app, smtp):
    with app.app_context():
        queue(2)
    result = app.test_cli_runner().invoke(args=["mail", "deliver"])
    assert result.exit_code == 0, result.output
    assert "Sent 2, retry later 0, failed 0, expired 0." in result.output
    assert len(smtp.received) == 2


# --- bad input ------------------------------------------------------------------------------


def test_crlf_in_a_subject_does_not_inject_a_header(app, ctx, smtp):
    enqueue(
        kind="subscription_confirm",
        key="1",
        recipient="aino@example.org",
        language="fi",
        message=plain("x\r\nBcc: evil@example.org"),
    )
    db.session.commit()

    deliver_pending()

    [received] = smtp.received
    assert received.rcpt_tos == ("aino@example.org",)
    message = received.message
    assert message["Bcc"] is None
    assert message["Subject"] == "x Bcc: evil@example.org"
    assert b"\r\nBcc:" not in received.content


def test_crlf_in_the_sender_name_does_not_inject_a_header(app, ctx, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_FROM_NAME", "Etäryhmät\r\nBcc: evil@example.org")
    queue()

    deliver_pending()

    [received] = smtp.received
    assert received.rcpt_tos == ("person0@example.org",)
    assert received.message["Bcc"] is None
    assert "\n" not in received.message["From"]


def test_crlf_in_a_group_title_never_becomes_a_header(app, ctx, smtp):
    group = open_group(title_fi="Ryhmä\r\nBcc: evil@example.org")
    message = render_message("subscription_confirm", "fi", group=group, confirm_url="u")
    assert "\r" not in message.subject and "\n" not in message.subject
    enqueue(
        kind="subscription_confirm",
        key="1",
        recipient="aino@example.org",
        language="fi",
        message=message,
    )
    db.session.commit()

    deliver_pending()

    [received] = smtp.received
    assert received.rcpt_tos == ("aino@example.org",)
    assert received.message["Bcc"] is None
    assert received.message["Subject"].startswith("Vahvista muistutukset: Ryhmä")


@pytest.mark.parametrize(
    "address",
    [
        "",
        "not-an-address",
        "two@at@example.org",
        "aino@example.org\r\nBcc: evil@example.org",
        "aino@example.org, evil@example.org",
        "Aino <aino@example.org>",
    ],
)
def test_an_invalid_recipient_is_refused_and_nothing_is_queued(app, ctx, address):
    with pytest.raises(InvalidRecipient):
        enqueue(
            kind="subscription_confirm", key="1", recipient=address, language="fi", message=plain()
        )
    db.session.commit()
    assert rows() == []


def test_a_language_without_a_translation_falls_back_to_finnish(app, ctx):
    group = open_group()

    german = render_message("subscription_confirm", "de", group=group, confirm_url="u")
    finnish = render_message("subscription_confirm", "fi", group=group, confirm_url="u")

    assert german == finnish
    assert german.subject == "Vahvista muistutukset: Testiryhmä"
    assert "Jos pyysit niitä itse, vahvista tästä:" in german.text
    row = enqueue(
        kind="subscription_confirm",
        key="1",
        recipient="a@example.org",
        language="de",
        message=german,
    )
    assert row.language == "fi"


def test_a_message_queued_in_a_transaction_that_rolls_back_is_not_queued(app, ctx):
    enqueue(
        kind="subscription_confirm",
        key="1",
        recipient="aino@example.org",
        language="fi",
        message=plain(),
    )

    db.session.rollback()

    assert rows() == []


# --- failures -------------------------------------------------------------------------------


def test_a_recipient_refused_with_5xx_fails_once_and_the_rest_of_the_batch_is_sent(app, ctx, smtp):
    smtp.handler.refuse["person1@example.org"] = "550 5.1.1 no such user"
    queue(3)

    report = deliver_pending()

    assert (report.sent, report.failed, report.retried) == (2, 1, 0)
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == [
        "person0@example.org",
        "person2@example.org",
    ]
    refused = rows()[1]
    assert refused.status == OutboxStatus.failed
    assert refused.attempts == 1
    assert "550" in refused.last_error


def test_a_failed_message_is_not_retried(app, ctx, smtp):
    smtp.handler.refuse["person0@example.org"] = "550 5.1.1 no such user"
    queue(1)
    deliver_pending()

    later = deliver_pending(now=utcnow() + timedelta(days=30))

    assert (later.sent, later.failed, later.retried) == (0, 0, 0)
    [row] = rows()
    assert (row.status, row.attempts) == (OutboxStatus.failed, 1)


def test_a_recipient_deferred_with_4xx_is_retried_later(app, ctx, smtp):
    smtp.handler.refuse["person0@example.org"] = "451 4.3.0 try again"
    queue(1)
    before = utcnow()

    report = deliver_pending()

    assert (report.sent, report.retried, report.failed) == (0, 1, 0)
    [row] = rows()
    assert (row.status, row.attempts) == (OutboxStatus.pending, 1)
    assert before + FIRST_RETRY <= row.next_attempt_at <= utcnow() + FIRST_RETRY
    del smtp.handler.refuse["person0@example.org"]
    assert deliver_pending(now=utcnow() + timedelta(minutes=2)).sent == 1
    assert len(smtp.received) == 1


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        ("554 5.6.0 message refused", OutboxStatus.failed),
        ("451 4.3.0 try again", OutboxStatus.pending),
    ],
)
def test_an_answer_to_data_decides_between_failed_and_retried(app, ctx, smtp, reply, status):
    smtp.handler.data_reply = reply
    queue(2)

    deliver_pending()

    assert [(r.status, r.attempts) for r in rows()] == [(status, 1), (status, 1)]
    assert all(reply.split()[0] in r.last_error for r in rows())


def test_an_smtp_outage_delays_the_mail_and_a_later_run_delivers_it(app, ctx, monkeypatch):
    server = SmtpServer()  # not started yet: connections are refused
    use_smtp(app, monkeypatch, server.port)
    queue(3)
    before = utcnow()

    down = deliver_pending()

    assert (down.sent, down.retried, down.failed) == (0, 3, 0)
    assert "cannot connect" in down.errors[0]
    for row in rows():
        assert (row.status, row.attempts) == (OutboxStatus.pending, 1)
        assert before + FIRST_RETRY <= row.next_attempt_at <= utcnow() + FIRST_RETRY
        assert "cannot connect" in row.last_error
    assert deliver_pending().sent == 0, "not due again before the backoff"

    server.start()
    try:
        up = deliver_pending(now=utcnow() + timedelta(minutes=2))
    finally:
        server.stop()

    assert up.sent == 3
    assert sorted(server.message_ids().values()) == [1, 1, 1]
    assert {(r.status, r.attempts, r.last_error) for r in rows()} == {(OutboxStatus.sent, 2, None)}


def test_starttls_required_but_not_offered_sends_nothing_in_clear(app, ctx, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_SECURITY", "starttls")
    queue(1)

    report = deliver_pending()

    assert (report.sent, report.retried) == (0, 1)
    assert smtp.received == []
    assert "STARTTLS" in rows()[0].last_error


def test_backoff_doubles_from_one_minute_up_to_six_hours():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert backoff(9) == timedelta(minutes=256)
    assert backoff(10) == backoff(MAX_ATTEMPTS) == LONGEST_RETRY


def test_a_message_that_keeps_failing_for_now_fails_after_the_last_attempt(app, ctx, monkeypatch):
    use_smtp(app, monkeypatch, free_port())  # nobody listens
    [row_id] = queue(1)
    db.session.get(OutboxMessage, row_id).attempts = MAX_ATTEMPTS - 1
    db.session.commit()

    report = deliver_pending()

    assert report.failed + report.retried == 1
    [row] = rows()
    assert (row.status, row.attempts) == (OutboxStatus.failed, MAX_ATTEMPTS)


def test_a_message_that_expired_before_delivery_is_not_sent(app, ctx, smtp):
    queue(1, expires_at=utcnow() - timedelta(minutes=1))

    report = deliver_pending()

    assert (report.sent, report.expired) == (0, 1)
    assert smtp.received == []
    assert rows()[0].status == OutboxStatus.expired


def test_an_address_with_non_ascii_letters_reaches_a_server_that_offers_smtputf8(
    app, ctx, monkeypatch
):
    server = SmtpServer(smtputf8=True).start()
    use_smtp(app, monkeypatch, server.port)
    try:
        queue(recipient="käyttäjä@example.fi")
        assert deliver_pending().sent == 1
    finally:
        server.stop()
    assert server.received[0].rcpt_tos == ("käyttäjä@example.fi",)


def test_an_address_the_server_can_never_take_fails_instead_of_retrying(app, ctx, smtp):
    queue(recipient="käyttäjä@example.fi")  # the server does not offer SMTPUTF8

    deliver_pending()

    assert rows()[0].status == OutboxStatus.failed


# --- TLS and login --------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 that this test's default SSL context trusts."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_goes_over_starttls_or_tls_with_a_login(app, ctx, monkeypatch, certificate, security):
    logins: list[tuple[str, str]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"salasana")

    handler, port = RecordingHandler(), free_port()
    tls = server_context(*certificate)
    options = {"tls_context": tls, "require_starttls": True}
    if security == "tls":
        options = {"ssl_context": tls}
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=security == "starttls",  # aiosmtpd 1.4 misses implicit TLS
        **options,
    )
    controller.start()
    use_smtp(app, monkeypatch, port)
    monkeypatch.setitem(app.config, "SMTP_SECURITY", security)
    monkeypatch.setitem(app.config, "SMTP_USERNAME", "posti")
    monkeypatch.setitem(app.config, "SMTP_PASSWORD", "salasana")
    queue(2)
    try:
        report = deliver_pending()
    finally:
        controller.stop()

    assert report.sent == 2, report.errors
    assert logins == [("posti", "salasana")]
    assert len(handler.received) == 2


# --- crashes and leases ---------------------------------------------------------------------


def test_a_sender_killed_after_claiming_loses_nothing(app, ctx, smtp):
    queue(5)
    now = utcnow()
    claimed = claim_batch(now, limit=10)  # committed; the sender dies before sending
    assert len(claimed) == 5
    assert {r.status for r in rows()} == {OutboxStatus.sending}

    report = deliver_pending(now=now + LEASE + timedelta(seconds=1))

    assert report.sent == 5
    assert sorted(smtp.message_ids().values()) == [1] * 5
    assert {(r.status, r.attempts) for r in rows()} == {(OutboxStatus.sent, 2)}


def test_a_claimed_batch_is_not_taken_again_while_its_lease_runs(app, ctx, smtp):
    queue(3)
    now = utcnow()
    claim_batch(now, limit=10)

    report = deliver_pending(now=now + LEASE - timedelta(seconds=1))

    assert report.sent == 0
    assert smtp.received == []


class Crash(BaseException):
    """The process dies (SIGKILL-like): no handler in the sender catches it."""


def test_a_crash_after_the_server_accepted_sends_at_most_one_duplicate(app, ctx, smtp, monkeypatch):
    """The documented limit: the message in flight when the sender dies is sent again,
    with the same Message-ID; the messages not yet sent are sent once."""
    queue(4)
    really_send = SmtpTransport.send

    def send_then_die(self, message):
        really_send(self, message)
        raise Crash

    monkeypatch.setattr(SmtpTransport, "send", send_then_die)
    now = utcnow()
    with pytest.raises(Crash):
        deliver_pending(now=now)
    db.session.rollback()
    monkeypatch.setattr(SmtpTransport, "send", really_send)

    report = deliver_pending(now=now + LEASE + timedelta(seconds=1))

    assert report.sent == 4
    counts = smtp.message_ids()
    assert counts.keys() == {row.message_id for row in rows()}
    assert sorted(counts.values()) == [1, 1, 1, 2]
    assert {r.status for r in rows()} == {OutboxStatus.sent}


def test_messages_sent_before_a_crash_are_not_sent_again(app, ctx, smtp, monkeypatch):
    queue(4)
    really_send = SmtpTransport.send
    calls = 0

    def die_on_the_third(self, message):
        nonlocal calls
        calls += 1
        if calls == 3:
            raise Crash
        really_send(self, message)

    monkeypatch.setattr(SmtpTransport, "send", die_on_the_third)
    now = utcnow()
    with pytest.raises(Crash):
        deliver_pending(now=now)
    db.session.rollback()
    monkeypatch.setattr(SmtpTransport, "send", really_send)

    deliver_pending(now=now + LEASE + timedelta(seconds=1))

    assert sorted(smtp.message_ids().values()) == [1, 1, 1, 1]


# --- several senders at once, on PostgreSQL -------------------------------------------------


def test_two_concurrent_senders_on_postgresql_deliver_each_message_exactly_once(app, smtp):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("real concurrent senders are tested on PostgreSQL (SQLite: one process)")
        ids = queue(200)
    barrier = threading.Barrier(2)
    sent_by: list[int] = []
    errors: list[BaseException] = []

    def run_sender() -> None:
        with app.app_context(), app.test_request_context():
            try:
                barrier.wait()
                total = 0
                while True:
                    report = deliver_pending(limit=20)
                    if report.sent + report.retried + report.failed + report.expired == 0:
                        break
                    total += report.sent
                sent_by.append(total)
            except BaseException as error:  # noqa: BLE001 - reported by the main thread
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run_sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(sent_by) == 200
    counts = smtp.message_ids()
    assert len(counts) == 200 and set(counts.values()) == {1}
    with app.app_context():
        statuses = db.session.execute(select(OutboxMessage.status, OutboxMessage.attempts))
        assert set(statuses) == {(OutboxStatus.sent, 1)}
        assert len(ids) == 200


def test_build_email_is_used_for_the_message_sent(app, ctx, smtp):
    """The bytes on the wire are build_email's message: the admin page and tests can rely
    on build_email to show what a recipient gets."""
    [row_id] = queue(unsubscribe_url="http://localhost/u")
    expected = build_email(db.session.get(OutboxMessage, row_id), app.config)

    deliver_pending()

    received = smtp.only_message()
    for header in ("Subject", "To", "Message-ID", "List-Unsubscribe", "Date"):
        assert received[header] == expected[header]
