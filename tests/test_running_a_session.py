"""Running a session (issue 15): the page where the people who run a session see a course's
participants (and the needs they agreed to share), mark attendance, leave links and a note for
the next facilitator, and read what the previous one left; the network's monthly counts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from remote_groups.applications.models import Application
from remote_groups.backup.document import (
    COUNT_FIELDS,
    MARK_FIELDS,
    MATERIAL_FIELDS,
    NOTE_FIELDS,
    BackupError,
)
from remote_groups.backup.exporting import export_region
from remote_groups.backup.importing import import_region
from remote_groups.extensions import db
from remote_groups.groups.models import GroupKind, RemoteGroup, Session, SessionStatus
from remote_groups.i18n import LANGUAGE_COOKIE
from remote_groups.regions.models import Region, Role, User
from remote_groups.retention import apply_retention
from remote_groups.running import service
from remote_groups.running.models import (
    ParticipantAttendance,
    RegionAttendance,
    SessionMaterial,
    SessionNote,
)
from remote_groups.service import ServiceError
from tests.conftest import (
    HELSINKI,
    csrf_token,
    helsinki_date,
    login,
    make_group,
    make_participant,
    make_region,
    make_user,
)
from tests.crawl import crawl, page_type

SHARED = "Tarvitsen tauon puolen tunnin välein."
NOT_SHARED = "Tämä on vain koordinaattoreille."


@pytest.fixture
def world(app: Flask, now: datetime) -> dict[str, int]:
    """A course of lansi-uusimaa and siun-sote that started five weeks ago (Thursdays) and an
    open group of the same regions; varha takes part in neither. The course's last two
    sessions held and its next one are lansi-uusimaa's, led by its facilitator; two
    participants, one of whom agreed to show her needs to the facilitators."""
    today = helsinki_date(now)
    with app.app_context():
        lu, siun, varha = (make_region(s) for s in ("lansi-uusimaa", "siun-sote", "varha"))
        db.session.flush()
        lead = make_user("fac@lu.example.org", Role.facilitator, lu)
        make_user("fac2@lu.example.org", Role.facilitator, lu)
        make_user("fac@siun.example.org", Role.facilitator, siun)
        make_user("fac@varha.example.org", Role.facilitator, varha)
        make_user("coord@lu.example.org", Role.coordinator, lu)
        make_user("coord@varha.example.org", Role.coordinator, varha)
        make_user("admin@example.org", Role.admin, None)
        # Created before their terms began, so that their past sessions exist.
        course = make_group(
            [lu, siun],
            now=now - timedelta(weeks=6),
            slug="kurssi",
            kind=GroupKind.closed,
            capacity=10,
            term_start=today - timedelta(weeks=5),
            term_end=today + timedelta(weeks=5),
        )
        open_group = make_group(
            [lu, siun],
            now=now - timedelta(weeks=11),
            slug="avoin",
            term_start=today - timedelta(weeks=10),
            term_end=today + timedelta(weeks=5),
        )
        db.session.flush()
        past = [s for s in course.sessions if s.starts_at < now]
        coming = [s for s in course.sessions if s.starts_at > now]
        earlier, last, following = past[-2], past[-1], coming[0]
        for session in (earlier, last, following):
            session.host_region_id, session.lead_facilitator_id = lu.id, lead.id
        make_participant(course, lu, now, name="Aino Asiakas", needs=SHARED, needs_shared_at=now)
        make_participant(
            course, siun, now, name="Bertta Asiakas", email="bertta@example.org", needs=NOT_SHARED
        )
        open_sessions = [s for s in open_group.sessions if s.starts_at < now]
        open_sessions[-1].host_region_id = lu.id
        db.session.commit()
        return {
            "earlier": earlier.id,
            "last": last.id,
            "following": following.id,
            "open_last": open_sessions[-1].id,
            "lu": lu.id,
            "siun": siun.id,
            "varha": varha.id,
        }


def page(client: FlaskClient, session_id: int):
    return client.get(f"/staff/sessions/{session_id}/running")


def participant_ids(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            a.name: a.participant.id
            for a in db.session.scalars(select(Application))
            if a.participant is not None
        }


def post_record(client: FlaskClient, session_id: int, **fields: str):
    data = {"csrf_token": csrf_token(client), **fields}
    return client.post(f"/staff/sessions/{session_id}/running", data=data)


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- who may -------------------------------------------------------------------------------


def test_a_visitor_who_is_not_logged_in_is_sent_to_the_login_page(client, world):
    response = page(client, world["last"])
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "email",
    ["fac@varha.example.org", "coord@varha.example.org", "fac@siun.example.org"],
)
def test_staff_of_another_region_are_refused(client, world, email):
    """varha takes no part; siun-sote's facilitator does not run lansi-uusimaa's turn."""
    login(client, email)
    assert page(client, world["last"]).status_code == 403


def test_an_administrator_is_refused_the_participants_list(client, world):
    login(client, "admin@example.org")
    assert page(client, world["last"]).status_code == 403


def test_a_session_that_does_not_exist_is_not_found(client, world):
    login(client, "fac@lu.example.org")
    assert page(client, 999_999).status_code == 404


def test_the_lead_sees_the_participants_and_only_the_needs_they_agreed_to_share(client, world):
    login(client, "fac@lu.example.org")
    response = page(client, world["last"])
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Aino Asiakas" in html and "Bertta Asiakas" in html
    assert SHARED in html
    assert NOT_SHARED not in html
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("email", ["fac2@lu.example.org", "coord@lu.example.org"])
def test_the_host_regions_facilitators_and_the_courses_coordinators_see_shared_needs(
    client, world, email
):
    login(client, email)
    html = page(client, world["last"]).get_data(as_text=True)
    assert SHARED in html and NOT_SHARED not in html


def test_a_co_facilitator_from_another_region_runs_the_session_without_the_needs(
    app, client, world
):
    with app.app_context():
        session = db.session.get(Session, world["last"])
        session.co_facilitators.append(
            db.session.scalar(select(User).where(User.email == "fac@siun.example.org"))
        )
        db.session.commit()
    login(client, "fac@siun.example.org")
    response = page(client, world["last"])
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Aino Asiakas" in html
    assert SHARED not in html


def test_the_needs_stay_out_of_the_log(app, client, world, caplog):
    login(client, "fac@lu.example.org")
    with caplog.at_level("DEBUG"):
        page(client, world["last"])
    assert SHARED not in caplog.text


# --- attendance ------------------------------------------------------------------------------


def test_a_courses_attendance_is_saved_per_participant(app, client, world):
    ids = participant_ids(app)
    login(client, "fac@lu.example.org")
    response = post_record(
        client,
        world["last"],
        **{
            f"present_{ids['Aino Asiakas']}": "present",
            f"present_{ids['Bertta Asiakas']}": "absent",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        marks = service.marks_of(db.session.get(Session, world["last"]))
    assert marks == {ids["Aino Asiakas"]: True, ids["Bertta Asiakas"]: False}
    html = page(client, world["last"]).get_data(as_text=True)
    assert f'id="present_{ids["Aino Asiakas"]}-0" name="present_{ids["Aino Asiakas"]}"' in html
    assert html.count("checked") == 2


def test_attendance_is_not_asked_before_the_session_day(app, client, world):
    login(client, "fac@lu.example.org")
    html = page(client, world["following"]).get_data(as_text=True)
    assert 'name="present_' not in html
    assert "Läsnäolon voi merkitä tuokion päivänä tai sen jälkeen." in html


def test_the_service_refuses_marks_for_a_session_still_to_come(app, world, ctx):
    session = db.session.get(Session, world["following"])
    lead = db.session.scalar(select(User).where(User.email == "fac@lu.example.org"))
    participant = service.participants_of(session.group_id)[0]
    with pytest.raises(ServiceError):
        service.save_record(session, lead, service.RecordInput(marks={participant.id: True}))


def test_an_open_groups_attendance_is_a_count_per_home_region(app, client, world):
    login(client, "fac@lu.example.org")
    response = post_record(
        client,
        world["open_last"],
        **{
            f"count_{world['lu']}": "3",
            f"count_{world['siun']}": "2",
            f"count_{world['varha']}": "",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        counts = service.counts_of(db.session.get(Session, world["open_last"]))
    assert counts == {world["lu"]: 3, world["siun"]: 2}


def test_a_count_that_is_not_a_number_is_refused_and_nothing_is_saved(app, client, world):
    login(client, "fac@lu.example.org")
    response = post_record(
        client,
        world["open_last"],
        **{f"count_{world['lu']}": "3", f"count_{world['siun']}": "kaksi"},
    )
    assert response.status_code == 422
    assert "Kirjoita kokonaisluku väliltä 0–999." in response.get_data(as_text=True)
    assert count(app, RegionAttendance) == 0


def test_attendance_is_summed_per_region_per_month(app, world, ctx):
    """The exchange report's sum: a course's participants present (by their home region) and
    an open group's counts, per month in Helsinki; absences and cancelled sessions not."""
    lead = db.session.scalar(select(User).where(User.email == "fac@lu.example.org"))
    course_session = db.session.get(Session, world["last"])
    aino, bertta = (
        next(p for p in service.participants_of(course_session.group_id) if p.application.name == n)
        for n in ("Aino Asiakas", "Bertta Asiakas")
    )
    service.save_record(
        course_session, lead, service.RecordInput(marks={aino.id: True, bertta.id: False})
    )
    open_group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "avoin"))
    april, may = (
        [s for s in open_group.sessions if s.starts_at.month == month][0] for month in (4, 5)
    )
    cancelled = [s for s in open_group.sessions if s.starts_at.month == 5][1]
    for session, lu_count, siun_count in ((april, 4, 1), (may, 3, 2), (cancelled, 7, 7)):
        service.save_record(
            session,
            lead,
            service.RecordInput(counts={world["lu"]: lu_count, world["siun"]: siun_count}),
        )
    cancelled.status = SessionStatus.cancelled
    db.session.flush()

    sums = service.attendance_by_region_and_month(date(2026, 4, 1), date(2026, 5, 31))

    assert course_session.starts_at.month == 5
    assert [(s.month, s.region_id, s.count) for s in sums] == [
        (date(2026, 4, 1), world["lu"], 4),
        (date(2026, 4, 1), world["siun"], 1),
        (date(2026, 5, 1), world["lu"], 3 + 1),  # Aino came; Bertta (siun-sote) did not
        (date(2026, 5, 1), world["siun"], 2),
    ]
    assert service.attendance_by_region_and_month(date(2026, 6, 1), date(2026, 6, 30)) == []


def test_a_participant_who_leaves_is_no_longer_named_but_still_counted(app, world, ctx):
    lead = db.session.scalar(select(User).where(User.email == "fac@lu.example.org"))
    session = db.session.get(Session, world["last"])
    aino = next(
        p for p in service.participants_of(session.group_id) if p.application.name == "Aino Asiakas"
    )
    service.save_record(session, lead, service.RecordInput(marks={aino.id: True}))
    db.session.delete(aino)  # as withdrawing or anonymizing does
    db.session.flush()
    db.session.expire_all()
    mark = db.session.scalar(select(ParticipantAttendance))
    assert mark.participant_id is None
    (may,) = service.attendance_by_region_and_month(date(2026, 5, 1), date(2026, 5, 31))
    assert (may.region_id, may.count) == (world["lu"], 1)


# --- materials and the note ------------------------------------------------------------------


def test_a_link_with_a_space_is_refused_and_nothing_is_saved(app, client, world):
    ids = participant_ids(app)
    login(client, "fac@lu.example.org")
    response = post_record(
        client,
        world["last"],
        **{
            f"present_{ids['Aino Asiakas']}": "present",
            "materials-0-title": "Diat",
            "materials-0-url": "https://example.org/omat diat.pdf",
            "note": "Jatketaan hengitysharjoituksista.",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Verkko-osoitteessa ei ole välilyöntejä. Tarkista linkki." in html
    assert 'class="error-summary"' in html
    assert [count(app, m) for m in (SessionMaterial, SessionNote, ParticipantAttendance)] == [
        0,
        0,
        0,
    ]


def test_a_link_without_a_name_is_refused(app, client, world):
    login(client, "fac@lu.example.org")
    response = post_record(
        client, world["last"], **{"materials-0-url": "https://example.org/diat.pdf"}
    )
    assert response.status_code == 422
    assert "Anna linkille nimi." in response.get_data(as_text=True)
    assert count(app, SessionMaterial) == 0


def test_the_next_session_shows_the_previous_note_and_links(app, client, world):
    login(client, "fac@lu.example.org")
    response = post_record(
        client,
        world["earlier"],
        **{
            "materials-0-title": "Rentoutusharjoitus",
            "materials-0-url": "https://example.org/rentoutus",
            "materials-1-title": "",
            "materials-1-url": "",
            "note": "Ryhmä toivoi lisää liikuntaa.",
        },
    )
    assert response.status_code == 302
    html = page(client, world["last"]).get_data(as_text=True)
    assert "Ryhmä toivoi lisää liikuntaa." in html
    assert (
        '<a href="https://example.org/rentoutus" rel="noopener noreferrer">Rentoutusharjoitus</a>'
        in html
    )
    with app.app_context():
        assert [(m.position, m.title) for m in db.session.scalars(select(SessionMaterial))] == [
            (0, "Rentoutusharjoitus")
        ]


def test_the_page_speaks_swedish(client, world):
    client.set_cookie(LANGUAGE_COOKIE, "sv")
    login(client, "fac@lu.example.org")
    html = page(client, world["last"]).get_data(as_text=True)
    assert '<html lang="sv">' in html
    assert "Att leda träffen" in html and "Närvarande" in html and "Frånvarande" in html


# --- cost and reach --------------------------------------------------------------------------


def count_statements(app: Flask, client: FlaskClient, path: str) -> int:
    statements: list[str] = []

    def note(*args: object) -> None:
        statements.append(str(args[2]))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return len(statements)


def test_the_page_costs_the_same_however_many_participants(app, client, world, now):
    login(client, "coord@lu.example.org")
    path = f"/staff/sessions/{world['last']}/running"
    before = count_statements(app, client, path)
    with app.app_context():
        course = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "kurssi"))
        siun = db.session.get(Region, world["siun"])
        for n in range(8):
            make_participant(
                course,
                siun,
                now,
                name=f"Osallistuja {n}",
                email=f"osallistuja{n}@example.org",
                needs=f"Tarve {n}",
                needs_shared_at=now,
            )
        db.session.commit()
    after = count_statements(app, client, path)
    assert client.get(path).get_data(as_text=True).count("Osallistuja ") == 8
    assert after == before


def test_the_page_is_reached_by_links_from_the_staff_home(app, client, world):
    login(client, "fac@lu.example.org")
    pages = crawl(client, "/staff/")
    reached = [path for path in pages if page_type(app, path) == "running.run_session"]
    assert f"/staff/sessions/{world['following']}/running" in reached  # "My turns"
    assert f"/staff/sessions/{world['last']}/running" in reached  # led lately; the group page


# --- the region export -----------------------------------------------------------------------


def installation_with_the_other_regions() -> None:
    """Another installation, as the export is imported there: only the other regions."""
    db.session.rollback()
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            if table.name != "regions":
                connection.execute(table.delete())
        connection.execute(Region.__table__.delete().where(Region.slug == "lansi-uusimaa"))


def test_every_column_of_a_sessions_record_is_exported_except_ids_and_keys():
    exported = {
        SessionNote: NOTE_FIELDS,
        SessionMaterial: MATERIAL_FIELDS,
        RegionAttendance: COUNT_FIELDS,
        ParticipantAttendance: MARK_FIELDS,
    }
    left_out = {  # the session is the item the record is in; regions and staff travel by key
        SessionNote: {"session_id", "updated_by_id"},
        SessionMaterial: {"id", "session_id"},
        RegionAttendance: {"session_id", "region_id"},
        ParticipantAttendance: {"id", "session_id", "region_id", "participant_id"},
    }
    for model, fields in exported.items():
        assert set(model.__table__.c.keys()) - set(fields) == left_out[model], model.__name__


def test_a_sessions_record_survives_an_export_and_an_import(app, world):
    with app.app_context():
        lead = db.session.scalar(select(User).where(User.email == "fac@lu.example.org"))
        course_session = db.session.get(Session, world["last"])
        aino = service.participants_of(course_session.group_id)[0]
        service.save_record(
            course_session,
            lead,
            service.RecordInput(
                marks={aino.id: True},
                materials=[service.Material("Diat", "https://example.org/diat")],
                note="Jatketaan ensi kerralla.",
            ),
        )
        service.save_record(
            db.session.get(Session, world["open_last"]),
            lead,
            service.RecordInput(counts={world["lu"]: 3, world["siun"]: 2}),
        )
        db.session.commit()
        document = export_region("lansi-uusimaa")
        sums = service.attendance_by_region_and_month(date(2026, 1, 1), date(2026, 12, 31))
        records = [s["record"] for s in document["sessions"] if "record" in s]
        assert len(records) == 2
        installation_with_the_other_regions()

        import_region(document)

        again = export_region("lansi-uusimaa")
        assert [s["record"] for s in again["sessions"] if "record" in s] == records
        lu = db.session.scalar(select(Region.id).where(Region.slug == "lansi-uusimaa"))
        after = service.attendance_by_region_and_month(date(2026, 1, 1), date(2026, 12, 31))
        assert sorted((s.month, s.region_id == lu, s.count) for s in after) == sorted(
            (s.month, s.region_id == world["lu"], s.count) for s in sums
        )  # lansi-uusimaa has another id in the new installation


def test_an_import_refuses_a_count_of_a_region_it_does_not_know(app, world):
    with app.app_context():
        lead = db.session.scalar(select(User).where(User.email == "fac@lu.example.org"))
        service.save_record(
            db.session.get(Session, world["open_last"]),
            lead,
            service.RecordInput(counts={world["lu"]: 3}),
        )
        db.session.commit()
        document = export_region("lansi-uusimaa")
        (record,) = [s["record"] for s in document["sessions"] if "record" in s]
        record["counts"][0]["region"] = "ahvenanmaa"
        installation_with_the_other_regions()
        with pytest.raises(BackupError, match="ahvenanmaa"):
            import_region(document)
        assert db.session.scalar(select(func.count()).select_from(SessionNote)) == 0


# --- retention -------------------------------------------------------------------------------


def test_the_notes_go_with_the_applications_after_the_retention_period(app, world):
    """A note may name someone: the retention run deletes it when the group's term ended
    ``RETENTION_DAYS`` ago; the links and the counts stay."""
    with app.app_context():
        lead = db.session.scalar(select(User).where(User.email == "fac@lu.example.org"))
        for key in ("last", "open_last"):
            service.save_record(
                db.session.get(Session, world[key]),
                lead,
                service.RecordInput(
                    note="Muistiinpano.",
                    materials=[service.Material("Diat", "https://example.org/diat")],
                ),
            )
        course = db.session.get(Session, world["last"]).group
        db.session.get(Session, world["open_last"]).group.term_end = date(2028, 12, 31)
        db.session.commit()
        later = datetime.combine(course.term_end + timedelta(days=91), time(12), HELSINKI)

        report = apply_retention(later)
        db.session.commit()

        assert report.deleted_session_notes == 1
        assert [n.session_id for n in db.session.scalars(select(SessionNote))] == [
            world["open_last"]
        ]
        assert db.session.scalar(select(func.count()).select_from(SessionMaterial)) == 2
