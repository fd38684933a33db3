"""Applicants' needs encrypted at rest: never plain in the database, read back through the
model, rotated to a new key, and a missing key is a clear failure, not garbage."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import select, text

from remote_groups import create_app
from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.config import ConfigError, config_problems
from remote_groups.encryption import UndecryptableData, configured_keys
from remote_groups.extensions import db
from tests.applications.conftest import apply, id_of
from tests.conftest import login

NEEDS = "MS-tauti, pyörätuoli"
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def stored_needs(app: Flask) -> dict[int, str | None]:
    """The needs column as the database holds it, read past the model."""
    with app.app_context(), db.engine.connect() as connection:
        return dict(connection.execute(text("SELECT id, needs FROM applications")).all())


def needs_of(app: Flask, application_id: int) -> str | None:
    with app.app_context():
        return db.session.get(Application, application_id).needs


def rotate(app: Flask, *options: str):
    return app.test_cli_runner().invoke(args=["data", "rotate-key", *options])


@pytest.fixture
def under_old_key(app, client, course, monkeypatch) -> list[int]:
    """Three applications, their needs encrypted with OLD_KEY, the only configured key."""
    monkeypatch.setitem(app.config, "DATA_KEYS", OLD_KEY)
    for n in range(3):
        assert apply(client, email=f"a{n}@example.org", needs=f"{NEEDS} {n}").status_code == 302
    return [id_of(app, f"a{n}@example.org") for n in range(3)]


def test_needs_are_not_stored_in_plain_text_and_read_back_through_the_model(app, client, course):
    apply(client, email="aino@example.org", needs=NEEDS)
    application_id = id_of(app, "aino@example.org")

    stored = stored_needs(app)[application_id]

    assert "MS-tauti" not in stored and "pyörätuoli" not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token
    assert needs_of(app, application_id) == NEEDS


def test_the_same_needs_encrypt_differently_each_time(app, client, course):
    apply(client, email="a@example.org", needs=NEEDS)
    apply(client, email="b@example.org", needs=NEEDS)

    first, second = stored_needs(app).values()

    assert first != second


def test_no_needs_are_stored_as_nothing(app, client, course):
    apply(client, email="a@example.org", needs="")
    assert list(stored_needs(app).values()) == [None]


def test_rotate_key_re_encrypts_with_the_new_key_so_the_old_one_can_go(
    app, under_old_key, monkeypatch
):
    monkeypatch.setitem(app.config, "DATA_KEYS", f"{NEW_KEY},{OLD_KEY}")

    result = rotate(app, "--batch-size", "2")

    assert result.exit_code == 0, result.output
    assert "Re-encrypted 3 values" in result.output
    new = Fernet(NEW_KEY.encode())
    for token in stored_needs(app).values():
        assert new.decrypt(token.encode()).decode().startswith(NEEDS)
    monkeypatch.setitem(app.config, "DATA_KEYS", NEW_KEY)
    assert [needs_of(app, i) for i in under_old_key] == [f"{NEEDS} {n}" for n in range(3)]


def test_rotate_key_a_second_time_changes_nothing(app, under_old_key, monkeypatch):
    monkeypatch.setitem(app.config, "DATA_KEYS", f"{NEW_KEY},{OLD_KEY}")
    rotate(app)
    rotated = stored_needs(app)

    result = rotate(app)

    assert result.exit_code == 0
    assert "Re-encrypted 0 values with the newest key; 3 already used it." in result.output
    assert stored_needs(app) == rotated


def test_values_under_a_missing_key_raise_a_clear_error(app, under_old_key, monkeypatch):
    monkeypatch.setitem(app.config, "DATA_KEYS", NEW_KEY)

    with app.app_context():
        application = db.session.get(Application, under_old_key[0])
        with pytest.raises(UndecryptableData, match="cannot be decrypted: no key in DATA_KEYS"):
            _ = application.needs
        assert application.email == "a0@example.org"  # the rest of the row is unharmed


def test_the_review_page_says_so_when_the_needs_cannot_be_decrypted(
    app, client, under_old_key, monkeypatch
):
    monkeypatch.setitem(app.config, "DATA_KEYS", NEW_KEY)
    login(client, "coord@lu.example.org")

    response = client.get(f"/staff/applications/{under_old_key[0]}")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Tätä ei voi purkaa salauksesta: tietojen salausavain puuttuu." in page
    assert "a0@example.org" in page


def test_rotate_key_names_the_values_no_key_opens_and_fails(app, under_old_key, monkeypatch):
    monkeypatch.setitem(app.config, "DATA_KEYS", NEW_KEY)
    before = stored_needs(app)

    result = rotate(app)

    assert result.exit_code == 1
    assert "3 values open with no key in DATA_KEYS" in result.output
    assert f"applications.needs {under_old_key[0]}" in result.output
    assert stored_needs(app) == before


def test_a_coordinator_reads_the_needs_on_the_review_page(app, client, course):
    apply(client, email="aino@example.org", needs=NEEDS)
    login(client, "coord@lu.example.org")

    page = client.get(f"/staff/applications/{id_of(app, 'aino@example.org')}")

    assert NEEDS in page.get_data(as_text=True)


# --- configuration ----------------------------------------------------------------------------


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    for name in ("SECRET_KEY", "DATABASE_URL", "REMOTE_GROUPS_DATA_KEYS", "REMOTE_GROUPS_ENV"):
        monkeypatch.delenv(name, raising=False)
    return {"ENV": "production", "SECRET_KEY": "d4" * 32, "BASE_URL": "https://rg.example.fi"}


def test_production_refuses_to_start_without_a_data_key_and_says_how_to_make_one(production):
    with pytest.raises(ConfigError) as refusal:
        create_app(production)
    message = str(refusal.value)
    assert "DATA_KEYS: production needs a key" in message
    assert "Fernet.generate_key()" in message


def test_production_starts_with_a_data_key(production):
    app = create_app({**production, "DATA_KEYS": NEW_KEY})
    assert configured_keys(app.config) == [NEW_KEY]


def test_a_malformed_data_key_is_refused_without_being_shown(production):
    with pytest.raises(ConfigError) as refusal:
        create_app({**production, "DATA_KEYS": f"{NEW_KEY},not-a-key-at-all"})
    message = str(refusal.value)
    assert "DATA_KEYS: key 2 of 2 is not a Fernet key" in message
    assert "not-a-key-at-all" not in message and NEW_KEY not in message


def test_data_keys_come_from_the_environment_newest_first(production, monkeypatch):
    monkeypatch.setenv("REMOTE_GROUPS_DATA_KEYS", f" {NEW_KEY} , {OLD_KEY} ")
    app = create_app(production)
    assert configured_keys(app.config) == [NEW_KEY, OLD_KEY]


def test_development_needs_no_data_key(app):
    assert configured_keys(app.config) == []
    assert not [p for p in config_problems(app.config) if "DATA_KEYS" in p]


RETENTION_PERIODS = [
    "OUTBOX_KEEP_DAYS",
    "SUBSCRIPTION_UNCONFIRMED_DAYS",
    "SUBSCRIPTION_UNSUBSCRIBED_DAYS",
]


@pytest.mark.parametrize("setting", RETENTION_PERIODS)
def test_retention_periods_must_be_whole_days(app, setting):
    problems = config_problems({**app.config, setting: 0})
    assert f"{setting} must be a whole number of at least 1, not 0" in problems


def test_the_model_reads_no_needs_until_asked(app, client, course):
    """A missing key stops only what shows the needs: lists and the mail sweep never load
    them."""
    apply(client, email="aino@example.org", needs=NEEDS)
    with app.app_context():
        application = db.session.scalar(select(Application))
        assert "needs" not in application.__dict__


def test_the_participants_export_marks_needs_no_key_opens_instead_of_failing(
    app, client, under_old_key, monkeypatch
):
    with app.app_context():
        for application in db.session.scalars(select(Application)):
            application.status = ApplicationStatus.accepted
        db.session.commit()
    monkeypatch.setitem(app.config, "DATA_KEYS", NEW_KEY)
    login(client, "coord@lu.example.org")

    response = client.get("/staff/courses/kurssi/participants.csv?include_needs=1")

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.count("Tätä ei voi purkaa salauksesta") == 3
    assert "a0@example.org" in body and NEEDS not in body
