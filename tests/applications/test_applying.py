"""Applying to a closed course, and the applicant's own status page."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.extensions import db
from remote_groups.groups.service import group_by_slug
from tests.applications.conftest import (
    application_form,
    apply,
    id_of,
    mail_text,
    outbox,
    token_of,
)
from tests.conftest import csrf_token, helsinki_date


def count_applications(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Application.id)))


def test_an_application_is_received_with_a_receipt_and_a_status_link(client, app, course):
    response = apply(client)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    token = token_of(app, "aino@example.org")
    assert "aino@example.org" in page
    assert token not in page, "the link is in the mail only: the page is the same for anyone"
    assert outbox(app) == [("application_received", "aino@example.org")]
    assert f"/applications/{token}" in mail_text(app, "application_received", "aino@example.org")
    with app.app_context():
        application = db.session.get(Application, id_of(app, "aino@example.org"))
        assert application.status == ApplicationStatus.submitted
        assert application.consent_at is not None
        assert [d.to_status for d in application.decisions] == [ApplicationStatus.submitted]


def test_the_form_tells_what_is_stored_who_sees_it_and_when_it_is_deleted(client, course):
    page = client.get("/groups/kurssi/apply?lang=en").get_data(as_text=True)
    assert "Only the coordinators of this course see it" in page
    assert "90 days after the course ends" in page


def test_applying_outside_the_window_is_refused_and_stores_nothing(client, app, course, now):
    with app.app_context():
        group = group_by_slug("kurssi")
        group.application_closes = helsinki_date(now) - timedelta(days=1)
        db.session.commit()
    response = apply(client)
    assert response.status_code == 409
    assert count_applications(app) == 0


def test_an_open_group_has_no_application_form(client, app, course, now):
    with app.app_context():
        from tests.conftest import make_group

        group = group_by_slug("kurssi")
        make_group(group.regions, now=now, slug="avoin")
        db.session.commit()
    assert client.get("/groups/avoin/apply").status_code == 404
    assert client.post("/groups/avoin/apply", data=application_form(client)).status_code == 404


def test_the_same_person_twice_gets_the_existing_link_by_email_not_a_duplicate(client, app, course):
    apply(client)
    response = apply(client, email="AINO@example.org", name=" aino  ASIAKAS ")
    assert response.status_code == 302
    assert count_applications(app) == 1
    assert outbox(app)[-1] == ("application_status_link", "aino@example.org")


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("email", {"email": "not-an-address"}),
        ("consent", {"consent": None}),
        ("motivation", {"motivation": ""}),
        ("motivation", {"motivation": "x" * 2001}),
        ("needs", {"needs": "x" * 2001}),
        ("name", {"name": "x" * 121}),
        ("home_region", {"home_region": "lappi"}),
        ("home_region", {"home_region": None}),
        ("phone", {"phone": "call me maybe"}),
    ],
    ids=[
        "email",
        "consent",
        "motivation-empty",
        "motivation-long",
        "needs-long",
        "name-long",
        "region-outside",
        "region-missing",
        "phone",
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_stored(
    client, app, course, field, changes
):
    response = apply(client, **changes)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert count_applications(app) == 0
    assert outbox(app) == []


def test_html_in_any_field_is_shown_as_text(client, app, course):
    apply(client, name="<script>alert(1)</script>", motivation="<b>bold</b>")
    token = token_of(app, "aino@example.org")
    page = client.get(f"/applications/{token}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("token", ["nope", "x" * 43, "x" * 500])
def test_a_forged_token_is_404(client, course, token):
    assert client.get(f"/applications/{token}").status_code == 404
    assert client.get(f"/applications/{token}/withdraw").status_code == 404
    assert (
        client.post(
            f"/applications/{token}/withdraw", data={"csrf_token": csrf_token(client)}
        ).status_code
        == 404
    )


def test_the_applicant_corrects_their_contact_details(client, app, course):
    apply(client)
    token = token_of(app, "aino@example.org")
    response = client.post(
        f"/applications/{token}/contact",
        data={
            "name": "Aino A.",
            "email": "aino.a@example.org",
            "phone": "",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302
    with app.app_context():
        application = db.session.scalar(select(Application))
        assert (application.name, application.email, application.phone) == (
            "Aino A.",
            "aino.a@example.org",
            None,
        )


def test_bad_contact_details_change_nothing(client, app, course):
    apply(client)
    token = token_of(app, "aino@example.org")
    response = client.post(
        f"/applications/{token}/contact",
        data={"name": "Aino", "email": "broken", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 422
    assert token_of(app, "aino@example.org") == token


def test_the_applicant_deletes_the_application_before_a_decision(client, app, course):
    apply(client)
    token = token_of(app, "aino@example.org")
    client.post(f"/applications/{token}/delete", data={"csrf_token": csrf_token(client)})
    assert count_applications(app) == 0
    assert client.get(f"/applications/{token}").status_code == 404


def test_the_applicant_withdraws(client, app, course):
    apply(client)
    token = token_of(app, "aino@example.org")
    client.post(f"/applications/{token}/withdraw", data={"csrf_token": csrf_token(client)})
    with app.app_context():
        assert db.session.scalar(select(Application.status)) == ApplicationStatus.withdrawn
    assert ("application_withdrawn", "aino@example.org") in outbox(app)


def test_the_receipt_is_in_the_applicants_language(client, app, course):
    apply(client, language="sv")
    with app.app_context():
        from remote_groups.outbox.models import OutboxMessage

        message = db.session.scalar(select(OutboxMessage))
        assert message.language == "sv"
        assert message.subject and message.text_body.strip()


def test_status_and_subscription_tokens_are_kept_out_of_request_logs(client, app, course):
    from remote_groups.logs import redact_tokens

    apply(client)
    token = token_of(app, "aino@example.org")
    for line in (
        f'"GET /applications/{token} HTTP/1.1" 200',
        f'"POST /applications/{token}/withdraw HTTP/1.1" 302',
        f'"GET /subscriptions/{token}/unsubscribe HTTP/1.1" 200',
    ):
        redacted = redact_tokens(line)
        assert token not in redacted and "…" in redacted


def test_withdrawing_and_deleting_ask_first_on_a_page_of_their_own(client, app, course):
    apply(client)
    token = token_of(app, "aino@example.org")
    status_page = client.get(f"/applications/{token}").get_data(as_text=True)
    # The status page links to the questions; it does not carry the irreversible buttons.
    assert f'href="/applications/{token}/withdraw"' in status_page
    assert f'href="/applications/{token}/delete"' in status_page
    assert f'action="/applications/{token}/withdraw"' not in status_page

    question = client.get(f"/applications/{token}/withdraw").get_data(as_text=True)
    assert "Peruutatko hakemuksesi?" in question
    assert f'action="/applications/{token}/withdraw"' in question
    assert f'href="/applications/{token}"' in question  # the way back
    deleting = client.get(f"/applications/{token}/delete?lang=sv").get_data(as_text=True)
    assert "Radera din ansökan?" in deleting
    with app.app_context():  # asking changed nothing
        assert db.session.scalar(select(Application.status)) == ApplicationStatus.submitted

    # Answer the question with exactly what its form holds, as a browser would.
    form = question.split(f'action="/applications/{token}/withdraw">', 1)[1].split("</form>")[0]
    sent = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))
    assert set(sent) == {"csrf_token"}
    client.post(f"/applications/{token}/withdraw", data=sent)
    with app.app_context():
        assert db.session.scalar(select(Application.status)) == ApplicationStatus.withdrawn
    # Withdrawn: neither question is asked any more; the status page says where it stands.
    for step in ("withdraw", "delete"):
        answer = client.get(f"/applications/{token}/{step}")
        assert answer.status_code == 302 and answer.location.endswith(f"/applications/{token}")
