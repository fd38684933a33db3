"""Staff accounts: revocable logins with time limits, own and one-time passwords, password
strength, deactivation, and a lockout that a stranger cannot turn against an account."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select, text

from remote_groups.config import config_problems
from remote_groups.extensions import db
from remote_groups.regions.models import Role, User
from tests.conftest import PASSWORD, csrf_token, login, make_region, make_user

NEW_PASSWORD = "lantern orchard velvet quarry"
STRANGER = {"REMOTE_ADDR": "203.0.113.9"}
OWNER = {"REMOTE_ADDR": "198.51.100.7"}


def user_named(app: Flask, email: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge(user)
        return user


def copy_of_cookies(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie, as a thief would."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value, domain="localhost")
    return thief


def change_password(client: FlaskClient, current: str, new: str, again: str | None = None):
    return client.post(
        "/staff/account",
        data={
            "current_password": current,
            "new_password": new,
            "new_password_again": new if again is None else again,
            "csrf_token": csrf_token(client),
        },
    )


def post_login(client: FlaskClient, email: str, password: str, environ=None):
    return client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(client)},
        environ_base=environ or {},
    )


def create_user(client: FlaskClient, password: str, **overrides: str):
    data = {
        "email": "uusi@lu.example.org",
        "name": "Uusi Ohjaaja",
        "role": "facilitator",
        "region": "lansi-uusimaa",
        "language": "fi",
        "password": password,
        "csrf_token": csrf_token(client),
    }
    data.update(overrides)
    return client.post("/staff/users/new", data=data)


def user_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


# --- revocable logins --------------------------------------------------------------------


def test_a_copied_session_cookie_stops_working_after_logout(app, client, world):
    login(client, "coord@lu.example.org")
    thief = copy_of_cookies(app, client)
    assert thief.get("/staff/").status_code == 200
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    assert thief.get("/staff/").status_code == 302


def test_logging_out_ends_the_login_on_every_device(app, world):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "coord@lu.example.org")
    login(phone, "coord@lu.example.org")
    laptop.post("/staff/logout", data={"csrf_token": csrf_token(laptop)})
    assert phone.get("/staff/").status_code == 302


def test_a_copied_session_cookie_stops_working_after_a_password_change(app, client, world):
    login(client, "coord@lu.example.org")
    thief = copy_of_cookies(app, client)
    assert change_password(client, PASSWORD, NEW_PASSWORD).status_code == 302
    assert thief.get("/staff/").status_code == 302
    assert client.get("/staff/").status_code == 200  # the browser that changed it stays in


def test_a_copied_session_cookie_stops_working_after_deactivation(app, client, world):
    login(client, "coord@lu.example.org")
    thief = copy_of_cookies(app, client)
    admin = app.test_client()
    login(admin, "admin@example.org")
    user_id = user_named(app, "coord@lu.example.org").id
    response = admin.post(
        f"/staff/users/{user_id}/deactivate", data={"csrf_token": csrf_token(admin)}
    )
    assert response.status_code == 302
    assert thief.get("/staff/").status_code == 302
    assert client.get("/staff/").status_code == 302


def test_a_session_cookie_from_before_session_versions_does_not_log_in(app, client, world):
    """A cookie naming the bare user id (as before migration 0007) is a login no more."""
    user_id = user_named(app, "coord@lu.example.org").id
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
    assert client.get("/staff/").status_code == 302


def test_a_login_ends_after_the_idle_limit(app, client, world, now):
    """Requests less than STAFF_SESSION_IDLE_MINUTES apart keep the login; a longer pause
    ends it."""
    idle = app.config["STAFF_SESSION_IDLE_MINUTES"]
    login(client, "coord@lu.example.org")
    at = now
    for _ in range(3):
        at += timedelta(minutes=idle - 1)
        with time_machine.travel(at, tick=False):
            assert client.get("/staff/").status_code == 200
    with time_machine.travel(at + timedelta(minutes=idle + 1), tick=False):
        response = client.get("/staff/")
        assert response.status_code == 302
        assert "/staff/login" in response.headers["Location"]
        assert "Kirjautumisesi on vanhentunut" in client.get("/staff/login").get_data(as_text=True)


def test_a_login_ends_after_the_absolute_limit_even_when_in_use(app, client, world, now):
    hours = app.config["STAFF_SESSION_MAX_HOURS"]
    login(client, "coord@lu.example.org")
    at = now
    while at + timedelta(minutes=20) < now + timedelta(hours=hours):
        at += timedelta(minutes=20)
        with time_machine.travel(at, tick=False):
            assert client.get("/staff/").status_code == 200
    with time_machine.travel(now + timedelta(hours=hours, minutes=1), tick=False):
        assert client.get("/staff/").status_code == 302


def test_a_csrf_token_from_before_login_is_refused_after_login(client, world):
    before = csrf_token(client)
    login(client, "coord@lu.example.org")
    refused = client.post("/staff/feed-token/rotate", data={"csrf_token": before})
    assert refused.status_code == 400
    accepted = client.post("/staff/feed-token/rotate", data={"csrf_token": csrf_token(client)})
    assert accepted.status_code == 302


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("STAFF_SESSION_IDLE_MINUTES", 0, "STAFF_SESSION_IDLE_MINUTES must be a whole number"),
        ("STAFF_SESSION_MAX_HOURS", "12h", "STAFF_SESSION_MAX_HOURS must be a whole number"),
        ("STAFF_SESSION_IDLE_MINUTES", 13 * 60, "must not be longer than STAFF_SESSION_MAX"),
        ("LOGIN_LOCKOUT_EMAIL_AFTER", -1, "LOGIN_LOCKOUT_EMAIL_AFTER must be a whole number"),
    ],
)
def test_bad_login_limits_are_named_at_start(app, setting, value, named):
    problems = config_problems({**app.config, setting: value})
    assert any(named in problem for problem in problems), problems


# --- deactivation --------------------------------------------------------------------------


def deactivate(admin: FlaskClient, app: Flask, email: str):
    user_id = user_named(app, email).id
    return admin.post(f"/staff/users/{user_id}/deactivate", data={"csrf_token": csrf_token(admin)})


def test_deactivating_asks_first_and_changes_nothing_until_confirmed(app, client, world):
    login(client, "admin@example.org")
    user_id = user_named(app, "fac@lu.example.org").id
    page = client.get(f"/staff/users/{user_id}/deactivate")
    assert page.status_code == 200
    assert "fac@lu.example.org" in page.get_data(as_text=True)
    assert client.post(f"/staff/users/{user_id}/deactivate").status_code == 400  # no token
    assert user_named(app, "fac@lu.example.org").active


def test_a_deactivated_user_cannot_log_in_and_is_told_as_for_a_wrong_password(app, client, world):
    admin = app.test_client()
    login(admin, "admin@example.org")
    assert deactivate(admin, app, "fac@lu.example.org").status_code == 302
    deactivated = post_login(client, "fac@lu.example.org", PASSWORD)
    wrong = post_login(app.test_client(), "coord@lu.example.org", "not the password")
    assert deactivated.status_code == wrong.status_code == 422
    message = "Sähköposti tai salasana on väärin."
    assert message in deactivated.get_data(as_text=True)
    assert message in wrong.get_data(as_text=True)


def test_deactivation_hides_the_users_feeds_also_after_reactivation(app, client, world):
    login(client, "admin@example.org")
    old_token = user_named(app, "coord@lu.example.org").feed_token
    assert client.get(f"/calendar/f/{old_token}.ics").status_code == 200
    assert client.get(f"/calendar/regions/lansi-uusimaa.ics?token={old_token}").status_code == 200
    assert deactivate(client, app, "coord@lu.example.org").status_code == 302
    assert client.get(f"/calendar/f/{old_token}.ics").status_code == 404
    assert client.get(f"/calendar/regions/lansi-uusimaa.ics?token={old_token}").status_code == 404
    user = user_named(app, "coord@lu.example.org")
    assert not user.active and user.feed_token != old_token
    assert "Poistettu käytöstä" in client.get("/staff/users").get_data(as_text=True)

    reactivated = client.post(
        f"/staff/users/{user.id}/reactivate", data={"csrf_token": csrf_token(client)}
    )
    assert reactivated.status_code == 302
    assert user_named(app, "coord@lu.example.org").active
    assert client.get(f"/calendar/f/{old_token}.ics").status_code == 404
    assert client.get(f"/calendar/f/{user.feed_token}.ics").status_code == 200
    assert post_login(app.test_client(), "coord@lu.example.org", PASSWORD).status_code == 302


def test_an_admin_cannot_deactivate_themselves(app, client, world):
    login(client, "admin@example.org")
    response = deactivate(client, app, "admin@example.org")
    assert response.status_code == 409
    assert "Et voi poistaa itseäsi käytöstä." in response.get_data(as_text=True)
    assert user_named(app, "admin@example.org").active


def test_only_admins_deactivate(app, client, world):
    login(client, "coord@lu.example.org")
    assert deactivate(client, app, "fac@lu.example.org").status_code == 403
    assert user_named(app, "fac@lu.example.org").active


# --- own password --------------------------------------------------------------------------


def test_staff_change_their_own_password_from_my_account(app, client, world):
    login(client, "fac@lu.example.org")
    page = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/account"' in page  # linked from the staff navigation
    assert client.get("/staff/account").status_code == 200
    assert change_password(client, PASSWORD, NEW_PASSWORD).status_code == 302
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    assert post_login(client, "fac@lu.example.org", PASSWORD).status_code == 422
    assert post_login(client, "fac@lu.example.org", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("current", "new", "again", "message"),
    [
        ("wrong password!", NEW_PASSWORD, None, "Nykyinen salasana on väärin."),
        (PASSWORD, NEW_PASSWORD, "lantern orchard velvet quarrz", "eivät ole samat"),
        (PASSWORD, "password123456", None, "liian helppo arvata"),
        (PASSWORD, " " * 14, None, "pelkkiä välilyöntejä"),
        (PASSWORD, "short pw", None, "vähintään 12 merkkiä"),
        (PASSWORD, PASSWORD, None, "ei nykyistä"),
    ],
)
def test_a_refused_own_password_changes_nothing(app, client, world, current, new, again, message):
    login(client, "fac@lu.example.org")
    before = user_named(app, "fac@lu.example.org")
    response = change_password(client, current, new, again)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    after = user_named(app, "fac@lu.example.org")
    assert (after.password_hash, after.session_version) == (
        before.password_hash,
        before.session_version,
    )
    assert client.get("/staff/").status_code == 200


def test_guessing_the_current_password_locks_like_the_login(app, client, world):
    login(client, "fac@lu.example.org")
    answers = [
        change_password(client, f"guess number {n}", NEW_PASSWORD).status_code
        for n in range(app.config["LOGIN_LOCKOUT_AFTER"])
    ]
    assert answers[-1] == 429 and set(answers[:-1]) == {422}
    assert change_password(client, PASSWORD, NEW_PASSWORD).status_code == 429


# --- one-time passwords set by an administrator -------------------------------------------


def test_a_password_an_admin_set_must_be_changed_at_the_next_login(app, client, world):
    admin = app.test_client()
    login(admin, "admin@example.org")
    assert create_user(admin, "quiet meadow tractor 58").status_code == 302
    assert user_named(app, "uusi@lu.example.org").password_must_change

    response = post_login(client, "uusi@lu.example.org", "quiet meadow tractor 58")
    assert response.headers["Location"].endswith("/staff/account")
    for path in ("/staff/", "/staff/my-turns", "/groups"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith("/staff/account")
    assert client.get("/staff/account").status_code == 200

    assert change_password(client, "quiet meadow tractor 58", NEW_PASSWORD).status_code == 302
    assert not user_named(app, "uusi@lu.example.org").password_must_change
    assert client.get("/staff/").status_code == 200


def test_an_admin_resetting_a_password_ends_the_users_logins(app, client, world):
    login(client, "fac@lu.example.org")
    admin = app.test_client()
    login(admin, "admin@example.org")
    user = user_named(app, "fac@lu.example.org")
    response = admin.post(
        f"/staff/users/{user.id}/edit",
        data={
            "email": user.email,
            "name": user.name,
            "role": "facilitator",
            "region": "lansi-uusimaa",
            "language": "fi",
            "password": "quiet meadow tractor 58",
            "csrf_token": csrf_token(admin),
        },
    )
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 302
    assert user_named(app, "fac@lu.example.org").password_must_change


def test_an_admin_changes_their_own_password_on_their_account_not_the_user_form(app, client, world):
    login(client, "admin@example.org")
    user = user_named(app, "admin@example.org")
    response = client.post(
        f"/staff/users/{user.id}/edit",
        data={
            "email": user.email,
            "name": user.name,
            "role": "admin",
            "region": "",
            "language": "fi",
            "password": "quiet meadow tractor 58",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 422
    assert user_named(app, "admin@example.org").password_hash == user.password_hash


# --- password strength ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["password123456", "qwertyuiop123", "salasana12345", "uusi.ohjaaja1", " " * 12, "   \t   "],
)
def test_weak_common_and_blank_passwords_are_refused_for_new_users(app, client, world, password):
    login(client, "admin@example.org")
    response = create_user(client, password)
    assert response.status_code == 422
    assert 'id="password-error"' in response.get_data(as_text=True)
    assert user_count(app) == 4


def test_a_strong_password_is_accepted_for_a_new_user(app, client, world):
    login(client, "admin@example.org")
    assert create_user(client, "quiet meadow tractor 58").status_code == 302
    assert user_count(app) == 5


def test_the_new_user_form_offers_the_least_privilege_first(client, world):
    login(client, "admin@example.org")
    page = client.get("/staff/users/new").get_data(as_text=True)
    assert '<option selected value="facilitator">' in page
    assert '<option selected value="admin">' not in page


def test_a_new_user_sent_without_a_role_is_a_facilitator_not_more(app, client, world):
    login(client, "admin@example.org")
    data = {
        "email": "uusi@lu.example.org",
        "name": "Uusi Ohjaaja",
        "region": "lansi-uusimaa",
        "language": "fi",
        "password": "quiet meadow tractor 58",
        "csrf_token": csrf_token(client),
    }
    client.post("/staff/users/new", data=data)
    assert user_named(app, "uusi@lu.example.org").role == Role.facilitator


@pytest.mark.parametrize("password", ["password123456", " " * 16])
def test_create_admin_refuses_a_weak_password(app, password):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create-admin",
            "--email",
            "boss@example.org",
            "--name",
            "Boss",
            "--password",
            password,
        ]
    )
    assert result.exit_code != 0
    assert "guess" in result.output or "spaces" in result.output
    assert user_count(app) == 0


# --- lockout -------------------------------------------------------------------------------


def test_a_strangers_failures_do_not_lock_out_the_right_password_from_elsewhere(app, world):
    stranger, owner = app.test_client(), app.test_client()
    for _ in range(app.config["LOGIN_LOCKOUT_AFTER"] * 3):
        post_login(stranger, "admin@example.org", "guess", STRANGER)
    assert post_login(stranger, "admin@example.org", PASSWORD, STRANGER).status_code == 429
    assert post_login(owner, "admin@example.org", PASSWORD, OWNER).status_code == 302


def test_a_guess_spread_over_many_addresses_locks_each_after_one_more_failure(
    app, world, monkeypatch
):
    """From the LOGIN_LOCKOUT_EMAIL_AFTER-th failure from everywhere on, an address is locked
    at its first failure; an address that has not failed still has its right password
    checked."""
    monkeypatch.setitem(app.config, "LOGIN_LOCKOUT_EMAIL_AFTER", 9)
    monkeypatch.setitem(app.config, "RATE_LIMIT_LOGIN", (1000, 900))
    client = app.test_client()
    for n in range(8):
        address = {"REMOTE_ADDR": f"203.0.113.{n // 2 + 1}"}  # two failures from each
        assert post_login(client, "admin@example.org", "guess", address).status_code == 422
    fresh = {"REMOTE_ADDR": "203.0.113.99"}
    assert post_login(client, "admin@example.org", "guess", fresh).status_code == 429
    assert post_login(client, "admin@example.org", PASSWORD, fresh).status_code == 429
    assert post_login(client, "admin@example.org", PASSWORD, OWNER).status_code == 302


# --- migration 0007 ------------------------------------------------------------------------

MIGRATIONS = str(Path(__file__).parent.parent / "migrations")


@pytest.fixture
def before_staff_accounts(app: Flask) -> Iterator[None]:
    with app.app_context():
        region = make_region("lansi-uusimaa")
        db.session.flush()
        user = make_user("fac@lu.example.org", Role.facilitator, region)
        user.session_version, user.password_must_change = 3, True
        db.session.commit()
        downgrade(directory=MIGRATIONS, revision="0006_stable_identities")
    try:
        yield
    finally:
        with app.app_context():
            upgrade(directory=MIGRATIONS)


def test_migration_0007_goes_down_and_up_keeping_the_users(app, before_staff_accounts):
    with app.app_context():
        columns = {c["name"] for c in inspect(db.engine).get_columns("users")}
        assert not {"session_version", "password_must_change"} & columns
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM users")) == 1
        upgrade(directory=MIGRATIONS, revision="0007_staff_accounts")
        db.session.expire_all()
        user = db.session.scalar(select(User))
        assert (user.session_version, user.password_must_change) == (0, False)


# --- region export ---------------------------------------------------------------------------


@pytest.mark.parametrize("older_document", [False, True], ids=["now", "before-0007"])
def test_a_one_time_password_stays_one_time_through_a_region_export(app, older_document):
    """An export written before one-time passwords lacks the field: its users import as
    having chosen their own."""
    import json

    from remote_groups.backup import exporting, importing

    with app.app_context():
        region = make_region("lansi-uusimaa")
        db.session.flush()
        make_user("fac@lu.example.org", Role.facilitator, region).password_must_change = True
        db.session.commit()
        document = json.loads(json.dumps(exporting.export_region("lansi-uusimaa")))
        db.session.execute(User.__table__.delete())
        db.session.execute(region.__table__.delete())
        db.session.commit()
        if older_document:
            del document["users"][0]["password_must_change"]
        importing.import_region(document)
        user = db.session.scalar(select(User))
        assert user.password_must_change is not older_document


def test_create_admin_resets_a_deactivated_administrator_back_in(app, client):
    with app.app_context():
        admin = make_user("boss@example.org", Role.admin, None)
        admin.active = False
        db.session.commit()
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "--email", "boss@example.org", "--name", "Boss",
              "--password", NEW_PASSWORD]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    user = user_named(app, "boss@example.org")
    assert user.active and not user.password_must_change
    assert post_login(client, "boss@example.org", NEW_PASSWORD).status_code == 302
