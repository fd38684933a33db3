"""The lifecycle of an application (remote_groups/applications/lifecycle.py): the table's
properties, stated here without the table, and the service and pages keeping to it on the
database."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from remote_groups.applications import lifecycle
from remote_groups.applications.lifecycle import (
    INITIAL,
    TRANSITIONS,
    Action,
    Actor,
    IllegalTransition,
)
from remote_groups.applications.models import Application, Participant
from remote_groups.applications.models import ApplicationStatus as S
from remote_groups.applications.service import applying, reviewing, sending, waitlist
from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup
from remote_groups.groups.service import group_by_slug
from remote_groups.outbox.models import OutboxMessage
from remote_groups.regions.models import User
from remote_groups.service import ServiceError
from tests.applications.conftest import apply, id_of, outbox, token_of
from tests.conftest import csrf_token, login

PACKAGE = Path(__file__).resolve().parents[2] / "remote_groups" / "applications"
PROPERTY = settings(max_examples=300, deadline=None, database=None)

# --- the rules, stated without the table ------------------------------------------------------

# Decisions stand and withdrawing is final: nothing leads out of these.
TERMINAL = frozenset({S.rejected, S.withdrawn})
ALIVE = frozenset({S.submitted, S.waitlisted, S.offered, S.accepted})
# What a coordinator may still decide on: the new, the waiting list, open offers.
UNDECIDED = frozenset({S.submitted, S.waitlisted, S.offered})
DECISION = {Action.accept: S.accepted, Action.waitlist: S.waitlisted, Action.reject: S.rejected}

# What people are told when a move is refused: the texts they were shown before the table.
REFUSAL = {
    Action.withdraw: "This application is no longer active.",
    Action.confirm: "There is no open offer for this application.",
    Action.change_contact: "A withdrawn application cannot be changed.",
    Action.delete: "You can delete the application only before a decision.",
}


def refusal_text(state: S, action: Action, name: str) -> str:
    return REFUSAL.get(action) or f"{name}: the application is already {state.label}."


def lawful(before: S, action: Action, actor: Actor, after: S) -> bool:
    """Whether the domain allows ``actor`` to take ``action`` from ``before`` to ``after``."""
    if actor is Actor.coordinator:
        return (
            action in DECISION
            and after == DECISION[action]
            and before in UNDECIDED
            and (action is not Action.waitlist or before == S.submitted)
        )
    if actor is Actor.applicant:
        return {
            Action.withdraw: before in ALIVE and after == S.withdrawn,
            Action.confirm: (before, after) == (S.offered, S.accepted),
            Action.change_contact: before != S.withdrawn and after == before,
            Action.delete: before == S.submitted and after == before,
        }.get(action, False)
    return {
        Action.offer: (before, after) == (S.waitlisted, S.offered),
        Action.expire: (before, after) == (S.offered, S.withdrawn),
    }.get(action, False)


MOVES = list(itertools.product(Action, Actor))
moves = st.sampled_from(MOVES)
names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=20)


# --- the pure table ----------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(S), ids=str)
def test_the_table_has_exactly_the_lawful_moves(state: S) -> None:
    for action, actor in MOVES:
        lawful_targets = {after for after in S if lawful(state, action, actor, after)}
        in_table = TRANSITIONS.get((state, action, actor))
        assert lawful_targets == ({in_table} if in_table else set()), (state, action, actor)


def test_everything_starts_submitted_and_ends_rejected_or_withdrawn() -> None:
    assert INITIAL == S.submitted
    assert lifecycle.TERMINAL == TERMINAL
    back_to_submitted = [key for key, after in TRANSITIONS.items() if after == S.submitted]
    assert all(before == S.submitted for before, _, _ in back_to_submitted)


@PROPERTY
@given(st.lists(moves, max_size=40), names)
def test_every_sequence_of_actions_passes_only_through_lawful_states(
    sequence: list[tuple[Action, Actor]], name: str
) -> None:
    state, left_submitted = INITIAL, False
    for action, actor in sequence:
        before = state
        if before not in TERMINAL:  # the applicant can always leave
            assert Action.withdraw in lifecycle.allowed_actions(before, Actor.applicant)
        if (before, action, actor) in TRANSITIONS:
            state = lifecycle.transition(before, action, actor, name=name)
            assert lawful(before, action, actor, state)
        else:
            with pytest.raises(IllegalTransition):
                state = lifecycle.transition(before, action, actor, name=name)
        assert state in S
        if before in TERMINAL:
            assert state == before, "a terminal state stays terminal"
        if state == S.accepted and before != S.accepted:
            assert (action, actor) in {
                (Action.accept, Actor.coordinator),
                (Action.confirm, Actor.applicant),
            }
        left_submitted = left_submitted or state != S.submitted
        assert not (left_submitted and state == S.submitted), "nothing goes back to submitted"


@PROPERTY
@given(st.sampled_from(list(S)), moves, names)
def test_a_move_not_in_the_table_is_refused_with_the_message_people_know(
    state: S, move: tuple[Action, Actor], name: str
) -> None:
    action, actor = move
    if (state, action, actor) in TRANSITIONS:
        assert lifecycle.allowed(state, action, actor)
        assert action in lifecycle.allowed_actions(state, actor)
        assert lifecycle.transition(state, action, actor) == TRANSITIONS[(state, action, actor)]
        return
    assert not lifecycle.allowed(state, action, actor)
    assert action not in lifecycle.allowed_actions(state, actor)
    with pytest.raises(IllegalTransition) as refused:
        lifecycle.check(state, action, actor, name=name)
    error = refused.value
    assert isinstance(error, ServiceError) and error.field is None
    assert (error.state, error.action, error.actor) == (state, action, actor)
    assert str(error.message) == refusal_text(state, action, name)


@PROPERTY
@given(st.sampled_from(sorted(TERMINAL)), st.lists(moves, max_size=20))
def test_terminal_states_stay_terminal(start: S, sequence: list[tuple[Action, Actor]]) -> None:
    state = start
    for action, actor in sequence:
        try:
            state = lifecycle.transition(state, action, actor)
        except IllegalTransition:
            pass
        assert state == start, f"{actor} took {start} elsewhere by {action}"


# Each move with who makes it.
ACCEPT, REJECT = (Action.accept, Actor.coordinator), (Action.reject, Actor.coordinator)
WAITLIST = (Action.waitlist, Actor.coordinator)
WITHDRAW, CONFIRM = (Action.withdraw, Actor.applicant), (Action.confirm, Actor.applicant)
CHANGE_CONTACT, DELETE = (Action.change_contact, Actor.applicant), (Action.delete, Actor.applicant)
OFFER, EXPIRE = (Action.offer, Actor.system), (Action.expire, Actor.system)
# The journeys the app takes an application on, and where they end.
JOURNEYS = {
    "accepted": ([ACCEPT], S.accepted),
    "accepted-then-withdrew": ([ACCEPT, WITHDRAW], S.withdrawn),
    "offer-confirmed": ([WAITLIST, OFFER, CONFIRM], S.accepted),
    "offer-expired": ([WAITLIST, OFFER, EXPIRE], S.withdrawn),
    "offer-accepted": ([WAITLIST, OFFER, ACCEPT], S.accepted),
    "offer-rejected": ([WAITLIST, OFFER, REJECT], S.rejected),
    "offer-withdrawn": ([WAITLIST, OFFER, WITHDRAW], S.withdrawn),
    "waitlist-then-accepted": ([WAITLIST, ACCEPT], S.accepted),
    "rejected-changes-contact": ([REJECT, CHANGE_CONTACT], S.rejected),
    "deleted-before-a-decision": ([CHANGE_CONTACT, DELETE], S.submitted),
}


@pytest.mark.parametrize("journey", JOURNEYS)
def test_the_journeys_the_app_takes_are_open(journey: str) -> None:
    steps, end = JOURNEYS[journey]
    state = INITIAL
    for action, actor in steps:
        state = lifecycle.transition(state, action, actor)
    assert state == end


def test_a_coordinators_decision_is_one_of_the_three_on_the_form() -> None:
    for action, state in DECISION.items():
        assert lifecycle.decision_action(state) == action
    with pytest.raises(ValueError):
        lifecycle.decision_action(S.withdrawn)


def test_the_lifecycle_is_pure_and_the_only_place_an_application_changes_state() -> None:
    """lifecycle.py imports the status enum, ServiceError and the translation marker only;
    in the applications package (its service package too) a status is assigned in
    service.common.move alone."""
    tree = ast.parse((PACKAGE / "lifecycle.py").read_text())
    imported = {
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    standard = {"__future__", "enum", "collections", "types", "typing"}
    beyond = {name for name in imported if name.split(".")[0] not in standard}
    assert beyond == {
        "flask_babel.lazy_gettext",
        "remote_groups.applications.models.ApplicationStatus",
        "remote_groups.service.ServiceError",
    }
    assignments = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ast.parse(path.read_text())
        for function in ast.walk(module):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                targets = node.targets if isinstance(node, ast.Assign) else []
                for target in targets:
                    for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                        if isinstance(element, ast.Attribute) and element.attr == "status":
                            place = path.relative_to(PACKAGE).as_posix()
                            assignments.append(f"{place}:{function.name}")
    assert assignments == ["service/common.py:move"]


# --- through the service, on the database -------------------------------------------------------


def coordinator() -> User:
    return db.session.scalar(select(User).where(User.email == "coord@lu.example.org"))


def reach(state: S, now: datetime) -> Application:
    """An application brought to ``state`` by the service, the way the app brings it there."""
    group = group_by_slug("kurssi")
    application = applying.submit_application(
        group,
        applying.ApplicationInput(
            name="Aino Asiakas",
            email="aino@example.org",
            phone=None,
            home_region="lansi-uusimaa",
            language="fi",
            needs=None,
            motivation="Haluan oppia.",
        ),
        now,
    )
    if state in (S.waitlisted, S.offered):
        reviewing.decide([application], S.waitlisted, coordinator(), now=now)
        sending.send_decisions(group, now=now)  # a decision reaches the applicant when sent
    if state == S.offered:
        assert waitlist.offer_next_seat(group, now) is application
    if state in (S.accepted, S.rejected):
        reviewing.decide([application], state, coordinator(), now=now)
        sending.send_decisions(group, now=now)
    if state == S.withdrawn:
        applying.withdraw(application, now)
    db.session.commit()
    assert application.status == state
    return application


def attempts(group: RemoteGroup, now: datetime) -> dict[Action, Callable[[Application], object]]:
    """Each action through the service entry point the app calls for it."""
    return {
        Action.accept: lambda a: reviewing.decide([a], S.accepted, coordinator()),
        Action.waitlist: lambda a: reviewing.decide([a], S.waitlisted, coordinator()),
        Action.reject: lambda a: reviewing.decide([a], S.rejected, coordinator()),
        Action.withdraw: lambda a: applying.withdraw(a),
        Action.confirm: lambda a: waitlist.confirm_offer(a),
        Action.change_contact: lambda a: applying.update_contact(
            a, "Aino Uusi", "aino.uusi@example.org", None
        ),
        Action.delete: lambda a: applying.delete_before_decision(a),
        Action.offer: lambda a: waitlist.offer_next_seat(group, now),
        Action.expire: lambda a: waitlist.expire_offers(now + timedelta(days=30)),
    }


ACTOR_OF = {
    **dict.fromkeys([Action.accept, Action.waitlist, Action.reject], Actor.coordinator),
    **dict.fromkeys([Action.offer, Action.expire], Actor.system),
}


def snapshot(application_id: int) -> tuple[object, ...] | None:
    application = db.session.get(Application, application_id)
    if application is None:
        return None
    return (
        application.status,
        [(d.from_status, d.to_status, d.actor) for d in application.decisions],
        application.name,
        application.participant is not None,
        db.session.scalar(select(func.count(OutboxMessage.id))),
    )


@pytest.mark.parametrize("state", list(S), ids=str)
def test_the_service_moves_an_application_only_as_the_table_says(
    app: Flask, course: str, ctx: None, now: datetime, state: S
) -> None:
    """Every action from every state through the service: a move in the table is made and
    recorded, any other is refused (or, for the system's, not found) and changes nothing."""
    application_id = reach(state, now).id
    group = group_by_slug("kurssi")
    for action, attempt in attempts(group, now).items():
        actor = ACTOR_OF.get(action, Actor.applicant)
        before = snapshot(application_id)
        application = db.session.get(Application, application_id)
        expected = TRANSITIONS.get((state, action, actor))
        if expected is None and actor is not Actor.system:
            with pytest.raises(IllegalTransition) as refused:
                attempt(application)
            with force_locale("en"):
                assert str(refused.value.message) == refusal_text(state, action, "Aino Asiakas")
        else:
            attempt(application)
        db.session.flush()
        after = snapshot(application_id)
        if expected is None:
            assert after == before, f"{action} from {state} changed something"
        elif action is Action.delete:
            assert after is None
        elif expected == state:
            assert after is not None and after[0] == state and after[1] == before[1]
        else:
            assert after is not None and after[0] == expected
            assert after[1][-1] == (state, expected, actor.value)
        db.session.rollback()
        assert snapshot(application_id) == before


# --- through the pages ------------------------------------------------------------------------


def history(app: Flask, application_id: int) -> list[tuple[S | None, S, str]]:
    with app.app_context():
        application = db.session.get(Application, application_id)
        return [(d.from_status, d.to_status, d.actor) for d in application.decisions]


def decide(client: FlaskClient, application_id: int, decision: str):
    return client.post(
        f"/staff/applications/{application_id}/decide",
        data={"decision": decision, "message": "", "csrf_token": csrf_token(client)},
    )


def test_a_rejected_application_cannot_be_accepted(client: FlaskClient, app: Flask, course: str):
    apply(client)
    aino = id_of(app, "aino@example.org")
    login(client, "coord@lu.example.org")
    assert decide(client, aino, "rejected").status_code == 302
    # Sent (until then a decision may still change: tests/applications/test_decision_sending.py).
    sent = client.post(
        "/staff/courses/kurssi/decisions/send", data={"csrf_token": csrf_token(client)}
    )
    assert sent.status_code == 302
    rejected = history(app, aino)

    refused = decide(client, aino, "accepted")
    assert refused.status_code == 422
    assert "Aino Asiakas: hakemuksen tila on jo ”Ei hyväksytty”." in refused.get_data(as_text=True)
    bulk = client.post(
        "/staff/courses/kurssi/applications/bulk",
        data={
            "applications": [str(aino)],
            "decision": "accepted",
            "csrf_token": csrf_token(client),
        },
        follow_redirects=True,
    )
    assert "Aino Asiakas: hakemuksen tila on jo ”Ei hyväksytty”." in bulk.get_data(as_text=True)

    assert rejected == [(None, S.submitted, "applicant"), (S.submitted, S.rejected, "coordinator")]
    assert history(app, aino) == rejected
    assert ("application_accepted", "aino@example.org") not in outbox(app)
    with app.app_context():
        assert db.session.scalar(select(func.count(Participant.id))) == 0


def test_a_withdrawn_applicant_cannot_withdraw_again(client: FlaskClient, app: Flask, course: str):
    apply(client)
    token = token_of(app, "aino@example.org")
    withdraw = f"/applications/{token}/withdraw"
    first = client.post(withdraw, data={"csrf_token": csrf_token(client)}, follow_redirects=True)
    assert "Hakemuksesi on peruttu." in first.get_data(as_text=True)
    again = client.post(withdraw, data={"csrf_token": csrf_token(client)}, follow_redirects=True)
    assert "Tämä hakemus ei ole enää voimassa." in again.get_data(as_text=True)
    assert history(app, id_of(app, "aino@example.org")) == [
        (None, S.submitted, "applicant"),
        (S.submitted, S.withdrawn, "applicant"),
    ]


def test_a_freed_place_goes_to_the_waiting_list_and_is_confirmed(
    client: FlaskClient, app: Flask, course: str
):
    """accepted → withdrawn by the applicant frees a seat; waitlisted → offered by the system;
    offered → accepted by the applicant's confirmation: the paths the pages use."""
    people = ["anna", "bert", "cecilia", "doris"]
    for person in people:
        apply(client, name=person.title(), email=f"{person}@example.org")
    anna, bert, cecilia, doris = (id_of(app, f"{p}@example.org") for p in people)
    login(client, "coord@lu.example.org")
    for accepted in (anna, bert, cecilia):
        assert decide(client, accepted, "accepted").status_code == 302
    assert decide(client, doris, "waitlisted").status_code == 302

    confirm = {"csrf_token": csrf_token(client)}
    client.post(f"/applications/{token_of(app, 'anna@example.org')}/withdraw", data=confirm)
    client.post(f"/applications/{token_of(app, 'doris@example.org')}/confirm", data=confirm)

    assert history(app, anna) == [
        (None, S.submitted, "applicant"),
        (S.submitted, S.accepted, "coordinator"),
        (S.accepted, S.withdrawn, "applicant"),
    ]
    assert history(app, doris) == [
        (None, S.submitted, "applicant"),
        (S.submitted, S.waitlisted, "coordinator"),
        (S.waitlisted, S.offered, "system"),
        (S.offered, S.accepted, "applicant"),
    ]
    with app.app_context():
        seated = db.session.scalars(select(Participant.application_id)).all()
        assert sorted(seated) == sorted([bert, cecilia, doris])
