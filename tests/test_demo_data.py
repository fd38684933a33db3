"""The demo data obeys the same rules as real data: every application in it reached its
state by moves the lifecycle table allows, made by whom the table says."""

from sqlalchemy import select

from remote_groups.applications.lifecycle import INITIAL, TRANSITIONS
from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.demo import load_demo
from remote_groups.extensions import db
from remote_groups.regions.models import Role


def test_every_demo_application_got_to_its_state_by_legal_moves(ctx):
    load_demo()
    db.session.flush()
    legal = {(before, actor.value, after) for (before, _, actor), after in TRANSITIONS.items()}
    applications = db.session.scalars(select(Application)).all()
    assert {a.status for a in applications} >= {
        ApplicationStatus.submitted,
        ApplicationStatus.accepted,
    }
    for application in applications:
        first, *later = application.decisions
        assert (first.from_status, first.to_status, first.actor) == (None, INITIAL, "applicant")
        state = first.to_status
        for decision in later:
            assert decision.from_status == state
            assert (state, decision.actor, decision.to_status) in legal, application.name
            if decision.actor == "coordinator":
                # A coordinator of a region taking part, named in the history.
                assert decision.by_user.role == Role.coordinator
                assert application.group.takes_part(decision.by_user.region_id)
            state = decision.to_status
        assert state == application.status
