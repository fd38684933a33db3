"""Coordinator review: decisions, capacity, the waiting list, privacy and retention."""

import csv
import io
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from remote_groups.applications.lifecycle import Action, Actor, allowed_actions
from remote_groups.applications.models import Application, ApplicationStatus, Participant
from remote_groups.applications.service import applying, retention, reviewing, waitlist
from remote_groups.extensions import db
from remote_groups.groups.service import group_by_slug
from remote_groups.regions.models import User
from remote_groups.service import ServiceError
from tests.applications.conftest import apply, id_of, link_in, mail_text, outbox, token_of
from tests.conftest import csrf_token, login

PEOPLE = [
    ("anna@example.org", "lansi-uusimaa"),
    ("bert@example.org", "siun-sote"),
    ("cecilia@example.org", "varha"),
    ("doris@example.org", "lansi-uusimaa"),
    ("erik@example.org", "siun-sote"),
]


@pytest.fixture
def applied(client, app, course):
    for email, region in PEOPLE:
        assert (
            apply(client, email=email, name=email.split("@")[0], home_region=region).status_code
            == 302
        )
    return [id_of(app, email) for email, _ in PEOPLE]


def decide(client, application_id, decision, message=""):
    return client.post(
        f"/staff/applications/{application_id}/decide",
        data={"decision": decision, "message": message, "csrf_token": csrf_token(client)},
    )


def send(client, slug="kurssi"):
    """Send the course's saved decisions now (the explicit choice while applications are
    still open); their mail is queued, held for the undo window."""
    response = client.post(
        f"/staff/courses/{slug}/decisions/send-now", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    return response


def status_of(app, application_id):
    with app.app_context():
        return db.session.get(Application, application_id).status


def test_the_whole_flow_apply_accept_feed_withdraw_offer_confirm(client, app, applied):
    anna, bert, cecilia, doris, erik = applied
    login(client, "coord@lu.example.org")
    for application_id in (anna, bert, cecilia):
        assert decide(client, application_id, "accepted").status_code == 302
    for application_id in (doris, erik):
        decide(client, application_id, "waitlisted")
    send(client)
    accepted_mail = mail_text(app, "application_accepted", "anna@example.org")
    assert "https://meet.example.org/test" in accepted_mail
    feed = client.get(link_in(accepted_mail, "/calendar/p/"))
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"

    anna_token = token_of(app, "anna@example.org")
    client.post(f"/applications/{anna_token}/withdraw", data={"csrf_token": csrf_token(client)})
    assert client.get(link_in(accepted_mail, "/calendar/p/")).status_code == 404
    # Anna's seat (lansi-uusimaa) goes to the earliest waitlisted of the least-seated region;
    # all regions now hold one seat but lansi-uusimaa none: Doris is offered it.
    assert status_of(app, doris) == ApplicationStatus.offered
    offer = mail_text(app, "application_offered", "doris@example.org")
    doris_page = link_in(offer, "/applications/")
    client.post(f"{doris_page}/confirm", data={"csrf_token": csrf_token(client)})
    assert status_of(app, doris) == ApplicationStatus.accepted
    assert status_of(app, erik) == ApplicationStatus.waitlisted


def test_every_decision_records_who_when_and_from_which_state(client, app, applied):
    login(client, "coord@siun.example.org")
    decide(client, applied[0], "waitlisted", "Odota hetki")
    send(client)  # sent: a later decision is a move of its own, not a change of this one
    decide(client, applied[0], "accepted")
    with app.app_context():
        decisions = db.session.get(Application, applied[0]).decisions
        assert [(d.from_status, d.to_status) for d in decisions] == [
            (None, ApplicationStatus.submitted),
            (ApplicationStatus.submitted, ApplicationStatus.waitlisted),
            (ApplicationStatus.waitlisted, ApplicationStatus.accepted),
        ]
        assert decisions[1].by_user.email == "coord@siun.example.org"
        assert decisions[1].message == "Odota hetki" and decisions[1].at is not None


def test_capacity_is_never_exceeded(client, app, applied):
    login(client, "coord@lu.example.org")
    for application_id in applied[:3]:
        decide(client, application_id, "accepted")
    response = decide(client, applied[3], "accepted")
    assert response.status_code == 422
    assert status_of(app, applied[3]) == ApplicationStatus.submitted


def test_a_bulk_acceptance_that_does_not_fit_is_refused_whole(client, app, applied):
    login(client, "coord@lu.example.org")
    client.post(
        "/staff/courses/kurssi/applications/bulk",
        data={
            "applications": [str(i) for i in applied[:4]],
            "decision": "accepted",
            "csrf_token": csrf_token(client),
        },
    )
    assert [status_of(app, i) for i in applied] == [ApplicationStatus.submitted] * 5


def test_bulk_decisions(client, app, applied):
    login(client, "coord@lu.example.org")
    client.post(
        "/staff/courses/kurssi/applications/bulk",
        data={
            "applications": [str(i) for i in applied[3:]],
            "decision": "rejected",
            "csrf_token": csrf_token(client),
        },
    )
    assert [status_of(app, i) for i in applied[3:]] == [ApplicationStatus.rejected] * 2
    send(client)
    assert ("application_rejected", "doris@example.org") in outbox(app)


def test_the_suggested_selection_balances_regions_and_is_adjustable(client, app, applied):
    login(client, "coord@lu.example.org")
    page = client.get("/staff/courses/kurssi/selection").get_data(as_text=True)
    for application_id in applied[:3]:  # one per region, the earliest
        assert f'value="{application_id}" id="accept-{application_id}" checked' in page
    client.post(
        "/staff/courses/kurssi/selection",
        data={
            "accept": [str(applied[0]), str(applied[1]), str(applied[3])],
            "csrf_token": csrf_token(client),
        },
    )
    statuses = [status_of(app, i) for i in applied]
    assert statuses == [
        ApplicationStatus.accepted,
        ApplicationStatus.accepted,
        ApplicationStatus.waitlisted,
        ApplicationStatus.accepted,
        ApplicationStatus.waitlisted,
    ]


def test_an_unconfirmed_offer_passes_on_after_its_deadline(app, applied, ctx, now):
    group = group_by_slug("kurssi")
    coordinator = db.session.scalar(select(User).where(User.email == "coord@lu.example.org"))
    apps = [db.session.get(Application, i) for i in applied]
    reviewing.decide(apps[:3], ApplicationStatus.accepted, coordinator)
    reviewing.decide(apps[3:], ApplicationStatus.waitlisted, coordinator)
    offered = applying.withdraw(apps[0])
    assert offered is apps[3]  # lansi-uusimaa lost its seat; Doris is from there
    later = now + timedelta(days=4)
    assert waitlist.expire_offers(later) == 1
    assert apps[3].status == ApplicationStatus.withdrawn
    assert apps[4].status == ApplicationStatus.offered
    assert group.capacity == 3


# --- privacy and authorization ----------------------------------------------------------------


@pytest.mark.parametrize(
    "email", ["coord@lappi.example.org", "fac@lu.example.org", "admin@example.org"]
)
def test_people_outside_the_course_coordinators_see_no_applications(client, app, applied, email):
    login(client, email)
    assert client.get("/staff/courses/kurssi/applications").status_code == 403
    assert client.get(f"/staff/applications/{applied[0]}").status_code == 403
    assert client.get("/staff/courses/kurssi/participants.csv").status_code == 403
    assert decide(client, applied[0], "accepted").status_code == 403
    assert status_of(app, applied[0]) == ApplicationStatus.submitted


def test_the_course_coordinator_sees_the_needs(client, applied):
    login(client, "coord@siun.example.org")
    assert "Tarvitsen avustajan." in client.get(f"/staff/applications/{applied[0]}").get_data(
        as_text=True
    )


def test_the_csv_export_leaves_needs_out_unless_asked(client, app, applied):
    login(client, "coord@lu.example.org")
    decide(client, applied[0], "accepted")
    plain = client.get("/staff/courses/kurssi/participants.csv").get_data(as_text=True)
    assert "Tarvitsen avustajan." not in plain and "anna@example.org" in plain
    full = client.get("/staff/courses/kurssi/participants.csv?include_needs=1").get_data(
        as_text=True
    )
    assert "Tarvitsen avustajan." in full


def test_csv_cells_that_look_like_formulas_are_neutralized(client, app, course):
    apply(client, name='=HYPERLINK("http://evil")', email="f@example.org")
    login(client, "coord@lu.example.org")
    decide(client, id_of(app, "f@example.org"), "accepted")
    body = client.get("/staff/courses/kurssi/participants.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[1][0] == '\'=HYPERLINK("http://evil")'


def test_personal_data_is_anonymized_after_the_retention_period(app, applied, ctx):
    group = group_by_slug("kurssi")
    coordinator = db.session.scalar(select(User).where(User.email == "coord@lu.example.org"))
    reviewing.decide(
        [db.session.get(Application, applied[0])],
        ApplicationStatus.accepted,
        coordinator,
        "Tervetuloa",
    )
    db.session.flush()
    too_early = datetime.combine(group.term_end + timedelta(days=89), datetime.min.time(), UTC)
    assert retention.anonymize_expired(too_early, 90) == 0
    late = datetime.combine(group.term_end + timedelta(days=91), datetime.min.time(), UTC)
    assert retention.anonymize_expired(late, 90) == 5
    for application in db.session.scalars(select(Application)):
        assert application.name == "—" and application.needs is None
        assert application.phone is None and "example.org" not in application.email
        assert all(d.message is None for d in application.decisions)
    assert db.session.scalar(select(func.count(Participant.id))) == 0
    assert (
        applying.application_by_token(db.session.get(Application, applied[0]).status_token) is None
    )


def test_the_anonymize_command_runs_the_retention_rule_once(app, applied):
    result = app.test_cli_runner().invoke(args=["data", "anonymize"])
    assert result.exit_code == 0 and "0" in result.output


def test_nothing_personal_reaches_the_log(client, app, course, caplog):
    caplog.set_level("DEBUG")
    apply(client, name="Salainen Nimi", needs="Salainen tarve", email="salainen@example.org")
    logged = caplog.text
    assert "Salainen" not in logged and "salainen@example.org" not in logged


# --- concurrency, on PostgreSQL ---------------------------------------------------------------


def test_fifty_concurrent_acceptances_of_a_ten_seat_course_leave_exactly_ten(app, course, now):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("real concurrent transactions are tested on PostgreSQL")
        group = group_by_slug("kurssi")
        group.capacity = 10
        region = group.regions[0]
        for n in range(50):
            db.session.add(
                Application(
                    group=group,
                    name=f"n{n}",
                    email=f"n{n}@example.org",
                    home_region=region,
                    language="fi",
                    motivation="m",
                    consent_at=now,
                    status=ApplicationStatus.submitted,
                    created_at=now,
                )
            )
        db.session.commit()
        ids = list(db.session.scalars(select(Application.id)))
        coordinator_id = db.session.scalar(
            select(User.id).where(User.email == "coord@lu.example.org")
        )

    barrier = threading.Barrier(len(ids))
    results: list[str] = []

    def accept(application_id: int) -> None:
        with app.app_context(), app.test_request_context():
            coordinator = db.session.get(User, coordinator_id)
            application = db.session.get(Application, application_id)
            db.session.commit()  # hand the connection back: 50 threads share a smaller pool
            barrier.wait()
            try:
                reviewing.decide([application], ApplicationStatus.accepted, coordinator)
                db.session.commit()
                results.append("ok")
            except ServiceError:
                db.session.rollback()
                results.append("full")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=accept, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with app.app_context():
        accepted = db.session.scalar(
            select(func.count(Application.id)).where(
                Application.status == ApplicationStatus.accepted
            )
        )
        participants = db.session.scalar(select(func.count(Participant.id)))
    assert (results.count("ok"), results.count("full"), accepted, participants) == (10, 40, 10, 10)


def test_an_accepted_applicant_replaces_their_calendar_link_and_the_old_one_stops(
    client, app, applied
):
    anna, bert = applied[:2]
    login(client, "coord@lu.example.org")
    decide(client, anna, "accepted")
    send(client)
    old_feed = link_in(mail_text(app, "application_accepted", "anna@example.org"), "/calendar/p/")
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})

    page = client.post(
        f"/applications/{token_of(app, 'anna@example.org')}/feed-token",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=True,
    )
    assert "Sinulla on nyt uusi kalenterilinkki" in page.get_data(as_text=True)
    with app.app_context():
        new_token = db.session.get(Application, anna).participant.feed_token
    assert new_token not in old_feed
    assert client.get(old_feed).status_code == 404
    assert client.get(f"/calendar/p/{new_token}.ics").status_code == 200

    # Bert has not been accepted: he has no calendar link to replace, and is told so.
    refused = client.post(
        f"/applications/{token_of(app, 'bert@example.org')}/feed-token",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=True,
    )
    assert "Sinulla ei ole kalenterilinkkiä" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Application, bert).participant is None


def test_the_status_page_offers_exactly_the_moves_the_table_allows_the_applicant(
    client, app, applied
):
    anna, bert, cecilia = applied[:3]
    login(client, "coord@lu.example.org")
    decide(client, bert, "rejected")
    decide(client, cecilia, "waitlisted")
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    client.post(
        f"/applications/{token_of(app, 'doris@example.org')}/withdraw",
        data={"csrf_token": csrf_token(client)},
    )
    buttons = {
        Action.change_contact: 'aria-labelledby="details"',
        Action.withdraw: "/withdraw",
        Action.delete: "/delete",
        Action.confirm: "/confirm",
    }
    seen = set()
    for email in ("anna", "bert", "cecilia", "doris"):
        token = token_of(app, f"{email}@example.org")
        page = client.get(f"/applications/{token}").get_data(as_text=True)
        with app.app_context():
            state = db.session.scalar(
                select(Application.status).where(Application.email == f"{email}@example.org")
            )
        allowed = allowed_actions(state, Actor.applicant)
        for action, marker in buttons.items():
            assert (marker in page) == (action in allowed), (email, state, action)
        seen.add(state)
    assert seen == {
        ApplicationStatus.submitted,
        ApplicationStatus.rejected,
        ApplicationStatus.waitlisted,
        ApplicationStatus.withdrawn,
    }
    # A rejected applicant still keeps their contact details right (and can do nothing else).
    bert_page = client.get(f"/applications/{token_of(app, 'bert@example.org')}")
    assert 'aria-labelledby="details"' in bert_page.get_data(as_text=True)
    assert "/withdraw" not in bert_page.get_data(as_text=True)
