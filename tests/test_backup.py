"""`data export-region` and `data import-region`: one region's data as JSON, and back."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import func, select, text

import remote_groups
from remote_groups.applications.models import (
    Application,
    ApplicationDecision,
    ApplicationStatus,
    Participant,
)
from remote_groups.backup.document import (
    APPLICATION_FIELDS,
    BLACKOUT_FIELDS,
    DECISION_FIELDS,
    REGION_FIELDS,
    SESSION_FIELDS,
    USER_FIELDS,
    summary,
)
from remote_groups.backup.tables import GROUP_EXPORT_FIELDS
from remote_groups.extensions import db
from remote_groups.groups.models import (
    GroupKind,
    RemoteGroup,
    Session,
    SessionStatus,
    session_co_facilitators,
)
from remote_groups.regions.models import Region, Role, User
from remote_groups.rotation.models import Blackout
from tests.conftest import NOW, login, make_group, make_region, make_user

SOURCE = "lansi-uusimaa"
PARTNER = "siun-sote"
PARTNER_FACILITATOR = "fac@siun.example.org"


@pytest.fixture
def source(app: Flask) -> None:
    """lansi-uusimaa with staff and a blackout, an open group it runs with siun-sote (sessions
    assigned, cancelled and fixed by hand) and a closed course with an accepted applicant;
    siun-sote owns a group of its own that lansi-uusimaa only takes part in."""
    with app.app_context():
        lu, siun = make_region(SOURCE), make_region(PARTNER)
        db.session.flush()
        coordinator = make_user("coord@lu.example.org", Role.coordinator, lu)
        facilitator = make_user("fac@lu.example.org", Role.facilitator, lu, language="sv")
        partner = make_user(PARTNER_FACILITATOR, Role.facilitator, siun)
        db.session.add(
            Blackout(
                region=lu,
                start_date=date(2027, 2, 20),
                end_date=date(2027, 2, 28),
                reason="Hiihtoloma",
                created_by=coordinator,
            )
        )
        group = make_group([lu, siun])
        first, second, third = group.sessions[:3]
        first.host_region, first.lead_facilitator = lu, facilitator
        first.co_facilitators, first.topic = [partner], "Tervetuloa"
        second.status, second.cancel_reason = SessionStatus.cancelled, "Ohjaaja sairastui"
        third.host_region, third.host_fixed, third.locked = siun, True, True
        third.sequence, third.edited_at = 3, NOW
        make_group([siun, lu], slug="siun-group")
        course = make_group(
            [lu],
            slug="kurssi",
            kind=GroupKind.closed,
            capacity=5,
            application_opens=date(2026, 5, 1),
            application_closes=date(2026, 12, 1),
        )
        application = Application(
            group=course,
            name="Aino Asiakas",
            email="aino@example.org",
            phone="+358 40 123 4567",
            home_region=lu,
            language="fi",
            needs="Tarvitsen avustajan.",
            motivation="Haluan oppia uutta.",
            consent_at=NOW,
            status=ApplicationStatus.accepted,
            created_at=NOW,
        )
        application.decisions = [
            ApplicationDecision(to_status=ApplicationStatus.submitted, actor="applicant", at=NOW),
            ApplicationDecision(
                from_status=ApplicationStatus.submitted,
                to_status=ApplicationStatus.accepted,
                actor="coordinator",
                by_user=coordinator,
                at=NOW,
            ),
        ]
        application.participant = Participant(group=course, created_at=NOW)
        db.session.add(application)
        db.session.commit()


def run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def export(app: Flask, tmp_path: Path, *options: str) -> dict[str, Any]:
    path = tmp_path / "export.json"
    result = run(app, "data", "export-region", SOURCE, "--output", str(path), *options)
    assert result.exit_code == 0, result.output
    return json.loads(path.read_text(encoding="utf-8"))


def import_document(app: Flask, tmp_path: Path, document: dict[str, Any]) -> Result:
    path = tmp_path / "import.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return run(app, "data", "import-region", str(path))


def empty_database(app: Flask) -> None:
    with app.app_context(), db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


def partner_installation(app: Flask, *, with_partner_staff: bool = True) -> None:
    """An installation that has siun-sote (as the source had it) and nothing else."""
    empty_database(app)
    with app.app_context():
        partner = make_region(PARTNER)
        if with_partner_staff:
            make_user(PARTNER_FACILITATOR, Role.facilitator, partner)
        db.session.commit()


def row_counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }


def sessions_as_seen(app: Flask) -> list[tuple[Any, ...]]:
    with app.app_context():
        sessions = db.session.scalars(
            select(Session).join(Session.group).order_by(RemoteGroup.slug, Session.starts_at)
        )
        return [
            (
                s.group.slug,
                s.starts_at,
                s.ends_at,
                s.status,
                s.cancel_reason,
                s.host_region.slug if s.host_region else None,
                s.lead_facilitator.email if s.lead_facilitator else None,
                sorted(u.email for u in s.co_facilitators),
                s.sequence,
                s.locked,
                s.host_fixed,
            )
            for s in sessions
            if s.group.slug != "siun-group"
        ]


def session_uids(app: Flask) -> dict[tuple[str, date], str]:
    """Each session's calendar UID by group slug and occurrence date."""
    with app.app_context():
        return {
            (s.group.slug, s.occurrence_date): s.uid
            for s in db.session.scalars(select(Session))
            if s.group.slug != "siun-group"
        }


def feed_token_of(app: Flask, email: str) -> str:
    with app.app_context():
        return db.session.scalar(select(User.feed_token).where(User.email == email))


def refused(app: Flask, tmp_path: Path, document: dict[str, Any]) -> str:
    """Import ``document``, expecting a one-line refusal that leaves every table as it was."""
    before = row_counts(app)
    result = import_document(app, tmp_path, document)
    assert result.exit_code != 0, result.output
    assert row_counts(app) == before
    assert len(result.output.strip().splitlines()) == 1, result.output
    return result.output


@pytest.fixture
def exported(app: Flask, source: None, tmp_path: Path) -> dict[str, Any]:
    """The source region's export, with the database now the partner installation."""
    document = export(app, tmp_path)
    partner_installation(app)
    return document


# --- export ----------------------------------------------------------------------------------


def test_export_names_its_format_version_and_time(app, source, tmp_path):
    document = export(app, tmp_path)
    assert document["format"] == "remote_groups.region-export"
    assert document["version"] == 1
    assert document["exported_at"].endswith("+00:00")


def test_export_holds_the_region_its_staff_and_their_blackouts(app, source, tmp_path):
    document = export(app, tmp_path)
    assert document["region"]["name_sv"] == f"{SOURCE} sv"
    assert [(u["email"], u["role"], u["language"]) for u in document["users"]] == [
        ("coord@lu.example.org", "coordinator", "fi"),
        ("fac@lu.example.org", "facilitator", "sv"),
    ]
    assert all(u["password_hash"] for u in document["users"])
    [blackout] = document["blackouts"]
    assert (blackout["start_date"], blackout["reason"]) == ("2027-02-20", "Hiihtoloma")
    assert blackout["created_by"] == "coord@lu.example.org"


def test_export_holds_the_groups_the_region_owns_with_their_rotation_order(app, source, tmp_path):
    groups = export(app, tmp_path)["groups"]
    assert [(g["slug"], g["regions"]) for g in groups] == [
        ("kurssi", [SOURCE]),
        ("test-group", [SOURCE, PARTNER]),
    ]


def test_export_gives_session_times_in_utc_with_their_offset(app, source, tmp_path):
    session = export(app, tmp_path)["sessions"][0]
    with app.app_context():
        first = db.session.scalar(select(Session).order_by(Session.starts_at))
    assert session["starts_at"] == first.starts_at.isoformat()
    assert session["starts_at"].endswith("+00:00")


def test_export_leaves_applications_out_by_default(app, source, tmp_path):
    document = export(app, tmp_path)
    assert "applications" not in document
    text = json.dumps(document)
    assert "aino@example.org" not in text
    assert "avustajan" not in text


def test_export_with_applications_holds_them_and_warns_of_health_data(app, source, tmp_path):
    path = tmp_path / "export.json"
    result = run(app, "data", "export-region", SOURCE, "--output", str(path), "--with-applications")
    assert result.exit_code == 0, result.output
    assert "health" in result.stderr
    [application] = json.loads(path.read_text(encoding="utf-8"))["applications"]
    assert (application["email"], application["needs"]) == (
        "aino@example.org",
        "Tarvitsen avustajan.",
    )


def test_export_holds_no_feed_or_status_tokens(app, source, tmp_path):
    text = json.dumps(export(app, tmp_path, "--with-applications"))
    with app.app_context():
        tokens = [
            *db.session.scalars(select(User.feed_token)),
            *db.session.scalars(select(Participant.feed_token)),
            *db.session.scalars(select(Application.status_token)),
        ]
    assert tokens
    assert not [token for token in tokens if token in text]
    assert "token" not in text


def test_export_file_is_readable_by_its_owner_only(app, source, tmp_path):
    export(app, tmp_path)
    mode = stat.S_IMODE((tmp_path / "export.json").stat().st_mode)
    assert mode == 0o600


def test_export_without_output_writes_the_document_to_standard_output(app, source):
    result = run(app, "data", "export-region", SOURCE)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["region"]["slug"] == SOURCE


def test_export_of_an_unknown_region_fails_with_a_message(app, source):
    result = run(app, "data", "export-region", "nowhere")
    assert result.exit_code != 0
    assert "No region 'nowhere'" in result.output


def test_every_column_is_exported_except_ids_foreign_keys_and_tokens():
    exported = {
        Region: REGION_FIELDS,
        User: USER_FIELDS,
        Blackout: BLACKOUT_FIELDS,
        RemoteGroup: GROUP_EXPORT_FIELDS,
        Session: SESSION_FIELDS,
        Application: APPLICATION_FIELDS,
        ApplicationDecision: DECISION_FIELDS,
    }
    left_out = {  # foreign keys travel as slugs and emails beside the fields
        Region: {"id"},
        User: {"id", "region_id", "feed_token", "session_version"},
        Blackout: {"id", "region_id", "created_by_id", "answered_by_id"},
        RemoteGroup: {"id", "owner_region_id"},
        Session: {"id", "group_id", "host_region_id", "lead_facilitator_id"},
        Application: {"id", "group_id", "home_region_id", "status_token"},
        ApplicationDecision: {"id", "application_id", "by_user_id"},
    }
    for model, fields in exported.items():
        assert set(model.__table__.c.keys()) - set(fields) == left_out[model], model.__name__


# --- import ----------------------------------------------------------------------------------


def test_round_trip_gives_back_the_same_region_staff_groups_and_sessions(app, exported, tmp_path):
    result = import_document(app, tmp_path, exported)
    assert result.exit_code == 0, result.output
    again = export(app, tmp_path)
    del again["exported_at"], exported["exported_at"]
    assert again == exported


def test_imported_sessions_keep_their_times_statuses_hosts_and_facilitators(app, source, tmp_path):
    before = sessions_as_seen(app)
    document = export(app, tmp_path)
    partner_installation(app)
    assert import_document(app, tmp_path, document).exit_code == 0
    assert sessions_as_seen(app) == before
    assert SessionStatus.cancelled in {row[3] for row in before}


def test_imported_sessions_keep_their_calendar_uids(app, source, tmp_path):
    before = session_uids(app)
    document = export(app, tmp_path)
    partner_installation(app)
    assert import_document(app, tmp_path, document).exit_code == 0
    assert session_uids(app) == before
    assert [s["uid"] for s in document["sessions"]] == [
        before[(s["group"], date.fromisoformat(s["occurrence_date"]))] for s in document["sessions"]
    ]


def test_a_document_without_session_uids_imports_and_gives_each_session_a_new_one(
    app, exported, tmp_path
):
    for session in exported["sessions"]:
        del session["uid"]
    result = import_document(app, tmp_path, exported)
    assert result.exit_code == 0, result.output
    uids = list(session_uids(app).values())
    assert len(uids) == len(exported["sessions"])
    assert len(set(uids)) == len(uids)
    assert {uuid.UUID(uid).version for uid in uids} == {4}


def test_imported_staff_log_in_with_their_old_password(app, client, exported, tmp_path):
    assert import_document(app, tmp_path, exported).exit_code == 0
    login(client, "fac@lu.example.org")
    assert client.get("/staff/").status_code == 200


def test_imported_staff_get_new_feed_tokens(app, source, tmp_path):
    old = feed_token_of(app, "coord@lu.example.org")
    document = export(app, tmp_path)
    partner_installation(app)
    assert import_document(app, tmp_path, document).exit_code == 0
    assert feed_token_of(app, "coord@lu.example.org") not in (None, old)


def test_import_restores_applications_with_their_decisions_and_seat(app, source, tmp_path):
    document = export(app, tmp_path, "--with-applications")
    partner_installation(app)
    assert import_document(app, tmp_path, document).exit_code == 0
    with app.app_context():
        [application] = db.session.scalars(select(Application))
        assert application.needs == "Tarvitsen avustajan."
        assert application.status == ApplicationStatus.accepted
        assert [(d.to_status, d.by_user and d.by_user.email) for d in application.decisions] == [
            (ApplicationStatus.submitted, None),
            (ApplicationStatus.accepted, "coord@lu.example.org"),
        ]
        assert application.participant.created_at == NOW


def test_import_refuses_a_group_whose_partner_region_is_not_in_the_database(app, source, tmp_path):
    document = export(app, tmp_path)
    empty_database(app)
    output = refused(app, tmp_path, document)
    assert "groups[1].regions: no region 'siun-sote' in the file or in this database" in output


def test_import_leaves_staff_missing_from_the_database_unassigned_and_names_them(
    app, source, tmp_path
):
    document = export(app, tmp_path)
    partner_installation(app, with_partner_staff=False)
    result = import_document(app, tmp_path, document)
    assert result.exit_code == 0, result.output
    assert f"left unassigned: {PARTNER_FACILITATOR}." in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(session_co_facilitators)) == 0


def test_import_refuses_another_format_version(app, exported, tmp_path):
    exported["version"] = 2
    output = refused(app, tmp_path, exported)
    assert "version: 2 is not supported" in output


def test_import_refuses_a_session_of_a_group_missing_from_the_file(app, exported, tmp_path):
    exported["sessions"][4]["group"] = "no-such-group"
    output = refused(app, tmp_path, exported)
    assert "sessions[4].group: no group 'no-such-group' in the file" in output


def test_import_refuses_a_user_email_given_twice(app, exported, tmp_path):
    exported["users"][1]["email"] = "COORD@lu.example.org"
    output = refused(app, tmp_path, exported)
    assert "users[1].email: 'coord@lu.example.org' appears twice in the file" in output


def test_import_refuses_a_session_uid_given_twice(app, exported, tmp_path):
    exported["sessions"][3]["uid"] = exported["sessions"][1]["uid"]
    output = refused(app, tmp_path, exported)
    assert f"sessions[3].uid: '{exported['sessions'][1]['uid']}' appears twice" in output


def test_import_keeps_the_uid_a_session_from_before_0006_was_published_with(
    app, exported, tmp_path
):
    """Such a session kept ``session-<id>@<host>`` at the upgrade; its id here is another."""
    legacy = exported["sessions"][2]
    legacy["uid"] = "session-17@ryhmat.example.fi"
    result = import_document(app, tmp_path, exported)
    assert result.exit_code == 0, result.output
    key = (legacy["group"], date.fromisoformat(legacy["occurrence_date"]))
    assert session_uids(app)[key] == "session-17@ryhmat.example.fi"


@pytest.mark.parametrize(
    "uid",
    ["", "session-17@ryhmat.example.fi ", "session 17", "session-17\r\nDTSTART:2027", "a\tb"],
    ids=["empty", "trailing-space", "space", "two-lines", "tab"],
)
def test_import_refuses_a_session_uid_that_is_not_one_line_without_spaces(
    app, exported, tmp_path, uid
):
    exported["sessions"][2]["uid"] = uid
    output = refused(app, tmp_path, exported)
    assert f"sessions[2].uid: {uid!r} is not a calendar UID" in output


def test_import_refuses_a_session_uid_longer_than_255_characters(app, exported, tmp_path):
    exported["sessions"][2]["uid"] = "x" * 256
    output = refused(app, tmp_path, exported)
    assert "sessions[2].uid: longer than 255 characters" in output


def test_import_refuses_users_who_already_exist_and_lists_them(app, exported, tmp_path):
    with app.app_context():
        partner = db.session.scalar(select(Region).where(Region.slug == PARTNER))
        make_user("fac@lu.example.org", Role.facilitator, partner)
        make_user("coord@lu.example.org", Role.coordinator, partner)
        db.session.commit()
    output = refused(app, tmp_path, exported)
    assert "users: already in this database: coord@lu.example.org, fac@lu.example.org" in output


def test_import_refuses_a_region_that_already_exists(app, exported, tmp_path):
    with app.app_context():
        make_region(SOURCE)
        db.session.commit()
    output = refused(app, tmp_path, exported)
    assert "region.slug: region 'lansi-uusimaa' already exists" in output


def test_import_refuses_a_time_without_utc_offset_naming_the_field(app, exported, tmp_path):
    exported["sessions"][2]["starts_at"] = "2027-01-07T13:00:00"
    output = refused(app, tmp_path, exported)
    assert "sessions[2].starts_at: '2027-01-07T13:00:00' has no UTC offset" in output


def test_import_refuses_an_item_with_a_missing_field_naming_it(app, exported, tmp_path):
    del exported["groups"][0]["meeting_url"]
    output = refused(app, tmp_path, exported)
    assert "groups[0].meeting_url: missing" in output


def test_a_refusal_by_the_database_rolls_the_whole_import_back(app, exported, tmp_path):
    session = exported["sessions"][-1]
    session["ends_at"] = session["starts_at"]  # the table's CHECK (ends_at > starts_at)
    output = refused(app, tmp_path, exported)
    assert f"sessions[{len(exported['sessions']) - 1}]: the database refused it" in output


def test_import_refuses_a_file_that_is_not_json(app, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"format": ', encoding="utf-8")
    result = run(app, "data", "import-region", str(path))
    assert result.exit_code != 0
    assert "is not a JSON document" in result.output


def test_the_export_holds_plain_needs_and_the_import_encrypts_them_with_its_own_key(
    app, source, tmp_path, monkeypatch
):
    """The file is the sensitive copy (README); the database never holds the needs in plain
    text, also when the importing installation has other data keys than the exporting one."""
    document = export(app, tmp_path, "--with-applications")
    assert document["applications"][0]["needs"] == "Tarvitsen avustajan."
    partner_installation(app)
    new_key = Fernet.generate_key()
    monkeypatch.setitem(app.config, "DATA_KEYS", new_key.decode())

    assert import_document(app, tmp_path, document).exit_code == 0

    with app.app_context(), db.engine.connect() as connection:
        stored = connection.scalar(text("SELECT needs FROM applications"))
    assert "avustaja" not in stored
    assert Fernet(new_key).decrypt(stored.encode()).decode() == "Tarvitsen avustajan."


# --- the document alone ----------------------------------------------------------------------

# Run in a fresh interpreter. The package's own __init__ builds the app and imports the
# extensions, so it is left out: what is loaded after importing backup.document is what that
# module needs. Then an export is read with the models' columns (tables.SCHEMA) and no app.
READ_WITH_NO_APP = """
import json, sys, types

package = types.ModuleType("remote_groups")
package.__path__ = [sys.argv[1]]
sys.modules["remote_groups"] = package

from remote_groups.backup import document

needs = sorted(
    {
        name if name.startswith("remote_groups.") else name.split(".")[0]
        for name in sys.modules
        if name.startswith(("flask", "sqlalchemy", "remote_groups.extensions"))
        or (name.startswith("remote_groups.") and name.endswith(".models"))
    }
)
assert not needs, f"backup.document needs {needs}; it must work with no app and no database"

from flask import has_app_context
from remote_groups.backup.tables import SCHEMA

with open(sys.argv[2], encoding="utf-8") as file:
    read = json.load(file)
plan = document.read_document(read, SCHEMA)
assert not has_app_context()
print(document.summary(read))
print(plan.region.values["slug"], len(plan.users), len(plan.sessions), len(plan.applications))
"""


def test_the_document_is_read_with_no_app_and_no_database(app, source, tmp_path):
    """backup.document loads no Flask, SQLAlchemy, extensions or models, and reads and checks
    an export with no app (where the database session cannot be reached): a document can be
    read without an installation, and the reader cannot come to need one unnoticed."""
    exported = export(app, tmp_path, "--with-applications")
    package = Path(remote_groups.__file__).parent
    read = subprocess.run(
        [sys.executable, "-c", READ_WITH_NO_APP, str(package), str(tmp_path / "export.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert read.returncode == 0, read.stderr
    counts = [len(exported[key]) for key in ("users", "sessions", "applications")]
    assert read.stdout.splitlines() == [summary(exported), " ".join(map(str, [SOURCE, *counts]))]
