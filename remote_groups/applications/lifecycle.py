"""The lifecycle of an application to a closed course: one table of every legal move.

Pure code: no database, no request, no application context. It knows states
(:class:`~remote_groups.applications.models.ApplicationStatus`), actions and who takes them,
and nothing else; the service loads an application, asks :func:`transition` for its next
state, and saves. A move that is not in :data:`TRANSITIONS` is refused with
:class:`IllegalTransition`, a :class:`~remote_groups.service.ServiceError` carrying the same
translatable message the person asking has always seen, before anything changes.

The lifecycle (who moves it in parentheses)::

    new ─────────────────────────────────────► submitted  (applicant applies)
    submitted ──accept / waitlist / reject───► accepted / waitlisted / rejected  (coordinator)
    waitlisted ──accept / reject─────────────► accepted / rejected  (coordinator)
    waitlisted ──offer───────────────────────► offered  (system: a seat became free)
    offered ──confirm────────────────────────► accepted  (applicant)
    offered ──accept / reject────────────────► accepted / rejected  (coordinator)
    offered ──expire─────────────────────────► withdrawn  (system: not confirmed in time)
    submitted, waitlisted, offered, accepted ──withdraw──► withdrawn  (applicant)

``rejected`` and ``withdrawn`` are terminal: nothing leads out of them. Two applicant actions
keep the state and are in the table so that their rule lives here too: changing the contact
details (any state but ``withdrawn``) and deleting the application (only ``submitted``, before
any decision; the row then goes). Anonymization after the retention period is no move: it
removes personal data and keeps the state.

The only imports beyond the standard library: the status enum, ``ServiceError`` and Flask-
Babel's ``lazy_gettext``, which marks the refusal messages for translation (a lazy string, read
only when a page shows it).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from flask_babel import lazy_gettext as _l

from remote_groups.applications.models import ApplicationStatus
from remote_groups.service import ServiceError

__all__ = [
    "DECISIONS",
    "INITIAL",
    "TERMINAL",
    "TRANSITIONS",
    "Action",
    "Actor",
    "IllegalTransition",
    "allowed",
    "allowed_actions",
    "check",
    "decision_action",
    "transition",
]


class Actor(enum.StrEnum):
    """Who moves an application; the value is what ``ApplicationDecision.actor`` stores."""

    applicant = "applicant"
    coordinator = "coordinator"
    system = "system"  # the scheduler and the seat bookkeeping (offers, expiry)


class Action(enum.StrEnum):
    # a coordinator's decisions
    accept = "accept"
    waitlist = "waitlist"
    reject = "reject"
    # the applicant, from the status page
    withdraw = "withdraw"
    confirm = "confirm"  # takes the offered place
    change_contact = "change_contact"  # keeps the state
    delete = "delete"  # keeps the state; the application is then deleted
    # the system
    offer = "offer"  # a free seat to the next on the waiting list
    expire = "expire"  # an offer not confirmed by its deadline


# Short names for the table.
S = ApplicationStatus
A = Action
_applicant, _coordinator, _system = Actor.applicant, Actor.coordinator, Actor.system

INITIAL: Final = S.submitted
"""The state of a new application (sent by the applicant)."""

# THE table: (state, action, actor) → next state. Nothing else is legal.
TRANSITIONS: Final[Mapping[tuple[ApplicationStatus, Action, Actor], ApplicationStatus]] = (
    MappingProxyType(
        {
            # The coordinator decides on the undecided, the waiting list and open offers.
            (S.submitted, A.accept, _coordinator): S.accepted,
            (S.submitted, A.waitlist, _coordinator): S.waitlisted,
            (S.submitted, A.reject, _coordinator): S.rejected,
            (S.waitlisted, A.accept, _coordinator): S.accepted,
            (S.waitlisted, A.reject, _coordinator): S.rejected,
            (S.offered, A.accept, _coordinator): S.accepted,
            (S.offered, A.reject, _coordinator): S.rejected,
            # The applicant withdraws while the application is alive, takes an offered place,
            # keeps their contact details current and may delete before any decision.
            (S.submitted, A.withdraw, _applicant): S.withdrawn,
            (S.waitlisted, A.withdraw, _applicant): S.withdrawn,
            (S.offered, A.withdraw, _applicant): S.withdrawn,
            (S.accepted, A.withdraw, _applicant): S.withdrawn,
            (S.offered, A.confirm, _applicant): S.accepted,
            (S.submitted, A.change_contact, _applicant): S.submitted,
            (S.waitlisted, A.change_contact, _applicant): S.waitlisted,
            (S.offered, A.change_contact, _applicant): S.offered,
            (S.accepted, A.change_contact, _applicant): S.accepted,
            (S.rejected, A.change_contact, _applicant): S.rejected,
            (S.submitted, A.delete, _applicant): S.submitted,
            # The system offers a freed seat on and passes an unconfirmed offer on.
            (S.waitlisted, A.offer, _system): S.offered,
            (S.offered, A.expire, _system): S.withdrawn,
        }
    )
)

DECISIONS: Final[Mapping[ApplicationStatus, Action]] = MappingProxyType(
    {S.accepted: A.accept, S.waitlisted: A.waitlist, S.rejected: A.reject}
)
"""A coordinator's decision, as the review form names it (the state it asks for), → action."""

TERMINAL: Final[frozenset[ApplicationStatus]] = frozenset(
    state
    for state in ApplicationStatus
    if all(after == state for (before, _, _), after in TRANSITIONS.items() if before == state)
)
"""States nothing leads out of (``rejected``, ``withdrawn``)."""

# What the person asking is told when a move is refused, by action (the texts they were shown
# before this table existed). Other actions are told that the application is already in its
# state, naming whose it is.
_REFUSALS: Final[Mapping[Action, Any]] = MappingProxyType(
    {
        A.withdraw: _l("This application is no longer active."),
        A.confirm: _l("There is no open offer for this application."),
        A.change_contact: _l("A withdrawn application cannot be changed."),
        A.delete: _l("You can delete the application only before a decision."),
    }
)


class IllegalTransition(ServiceError):
    """A move the table does not have. Raised before anything changes."""

    def __init__(self, state: ApplicationStatus, action: Action, actor: Actor, name: str = ""):
        if action in _REFUSALS:
            message = _REFUSALS[action]
        else:
            message = _l(
                "%(name)s: the application is already %(status)s.", name=name, status=state.label
            )
        super().__init__(message)
        self.state, self.action, self.actor = state, action, actor


def allowed(state: ApplicationStatus, action: Action, actor: Actor) -> bool:
    return (state, action, actor) in TRANSITIONS


def transition(
    state: ApplicationStatus, action: Action, actor: Actor, *, name: str = ""
) -> ApplicationStatus:
    """The state after ``actor`` takes ``action`` on an application in ``state``; refused with
    :class:`IllegalTransition` if the table has no such move. ``name`` is the applicant's, for
    the refusal a coordinator reads ("Aino: the application is already Accepted.")."""
    try:
        return TRANSITIONS[(state, action, actor)]
    except KeyError:
        raise IllegalTransition(state, action, actor, name) from None


def check(state: ApplicationStatus, action: Action, actor: Actor, *, name: str = "") -> None:
    """Refuse an illegal move up front, before the service starts on it."""
    transition(state, action, actor, name=name)


def allowed_actions(state: ApplicationStatus, actor: Actor) -> frozenset[Action]:
    """What ``actor`` may do to an application in ``state`` (e.g. which buttons to show)."""
    return frozenset(a for (s, a, who) in TRANSITIONS if s == state and who == actor)


def decision_action(decision: ApplicationStatus) -> Action:
    """The action of a coordinator's decision that asks for ``decision``."""
    try:
        return DECISIONS[decision]
    except KeyError:
        raise ValueError(f"{decision.value!r} is not a coordinator's decision") from None
