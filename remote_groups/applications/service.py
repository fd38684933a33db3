"""Application transactions: submit, decide, withdraw, offer, confirm, anonymize.

Callers commit. A refusal raises ServiceError before anything changes. Which state may
follow which, and who may move it, is the lifecycle's table (:mod:`lifecycle`); every change
of state goes through :func:`_move`, which asks it. Seats are counted under a lock on the
course row (SELECT … FOR UPDATE on PostgreSQL; SQLite has one writer at a time), so
concurrent acceptances can never exceed the capacity.
"""

from __future__ import annotations

import logging
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal, select

from remote_groups import events
from remote_groups.applications import lifecycle
from remote_groups.applications.lifecycle import Action, Actor
from remote_groups.applications.models import (
    SEAT_TAKING,
    Application,
    ApplicationDecision,
    ApplicationStatus,
    Participant,
)
from remote_groups.applications.selection import (
    Candidate,
    Suggestion,
    next_offer,
    suggest_selection,
)
from remote_groups.applications.spreadsheet import spreadsheet_csv
from remote_groups.encryption import UndecryptableData
from remote_groups.extensions import db
from remote_groups.formatting import value_in_helsinki
from remote_groups.groups.models import GroupKind, RemoteGroup
from remote_groups.outbox.retention import redact_messages_about
from remote_groups.regions.models import Region, User, new_token
from remote_groups.service import ServiceError
from remote_groups.types import utcnow

log = logging.getLogger(__name__)


class DuplicateApplication(ServiceError):
    """This person (:func:`same_person`) has applied to this course already. The caller answers
    as if the application were new and mails the existing one's status link, so that nobody
    learns from the answer whether someone applied."""

    def __init__(self, existing: Application):
        super().__init__(_l("You have already applied to this course."), "email")
        self.existing = existing


@dataclass(frozen=True)
class ApplicationInput:
    name: str
    email: str
    phone: str | None
    home_region: str
    language: str
    needs: str | None
    motivation: str


def today_in(group: RemoteGroup, now: datetime) -> date:
    return now.astimezone(group.zone).date()


def status_url(application: Application) -> str:
    return url_for("applications.status", token=application.status_token, _external=True)


def _move(
    application: Application,
    action: Action,
    actor: Actor,
    now: datetime,
    by: User | None = None,
    message: str | None = None,
) -> None:
    """The one place an application's state changes: the next state from the lifecycle's
    table (refused there if illegal, before anything changes), recorded in its history."""
    to_status = lifecycle.transition(application.status, action, actor, name=application.name)
    application.decisions.append(
        ApplicationDecision(
            from_status=application.status,
            to_status=to_status,
            actor=actor.value,
            by_user=by,
            message=message or None,
            at=now,
        )
    )
    application.status = to_status
    application.updated_at = now


def _notify(application: Application, kind: str, version: str = "", **context: Any) -> None:
    """Announce a change the applicant hears of (``notifications.applications`` mails it)."""
    events.application_changed.send(application, kind=kind, version=version, context=context)


# --- applicants -----------------------------------------------------------------------------


def submit_application(
    group: RemoteGroup, data: ApplicationInput, now: datetime | None = None
) -> Application:
    now = now or utcnow()
    if group.kind != GroupKind.closed:
        raise ServiceError(_l("This group has no applications: you can join it freely."))
    if not group.application_window_open(today_in(group, now)):
        raise ServiceError(_l("Applications to this course are not open now."))
    region = next((r for r in group.regions if r.slug == data.home_region), None)
    if region is None:
        raise ServiceError(_l("Choose a region that takes part in the course."), "home_region")
    email, name = data.email.strip().lower(), data.name.strip()
    lock_course(group.id)  # a twin sent at the same moment waits here, then finds this one
    existing = _application_of(group.id, name, email)
    if existing is not None:
        raise DuplicateApplication(existing)
    application = Application(
        group=group,
        name=name,
        email=email,
        phone=(data.phone or "").strip() or None,
        home_region=region,
        language=data.language,
        needs=(data.needs or "").strip() or None,
        motivation=data.motivation.strip(),
        consent_at=now,
        status=lifecycle.INITIAL,
        created_at=now,
    )
    db.session.add(application)
    db.session.flush()
    application.decisions.append(
        ApplicationDecision(
            from_status=None, to_status=lifecycle.INITIAL, actor=Actor.applicant.value, at=now
        )
    )
    _notify(application, "received")
    log.info("application %s received for group %s", application.id, group.id)
    return application


def same_person(name: str, other: str) -> bool:
    """Two names of one applicant: alike but for case, spacing and Unicode form.

    An application is one person's: the same email with another name is another person
    sharing an address (the residents of a group home, a family), who may apply too.
    """

    def key(text: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", text).casefold().split())

    return key(name) == key(other)


def _application_of(
    group_id: int, name: str, email: str, other_than: int | None = None
) -> Application | None:
    """This person's application to the course, if any (``email`` lower-case)."""
    query = select(Application).where(Application.group_id == group_id, Application.email == email)
    if other_than is not None:
        query = query.where(Application.id != other_than)
    same_address = db.session.scalars(query.order_by(Application.id))
    return next((a for a in same_address if same_person(a.name, name)), None)


def resend_status_link(application: Application, now: datetime | None = None) -> None:
    now = now or utcnow()
    _notify(application, "status_link", version=f"link:{now:%Y%m%d%H}")


def application_by_token(token: str) -> Application | None:
    """The live application behind a status link (anonymized ones no longer answer)."""
    if not token or len(token) > 64:
        return None
    application = db.session.scalar(select(Application).where(Application.status_token == token))
    if application is None or application.anonymized_at is not None:
        return None
    return application


def update_contact(application: Application, name: str, email: str, phone: str | None) -> None:
    lifecycle.check(application.status, Action.change_contact, Actor.applicant)
    email, name = email.strip().lower(), name.strip()
    if _application_of(application.group_id, name, email, other_than=application.id):
        raise ServiceError(
            _l("Another application to this course has that name and email."), "email"
        )
    application.name, application.email = name, email
    application.phone = (phone or "").strip() or None


def withdraw(application: Application, now: datetime | None = None) -> Application | None:
    """The applicant withdraws. A freed seat is offered on at once; returns the new offer."""
    now = now or utcnow()
    lifecycle.check(application.status, Action.withdraw, Actor.applicant)
    group = lock_course(application.group_id)
    had_seat = application.status in SEAT_TAKING
    _move(application, Action.withdraw, Actor.applicant, now)
    application.offer_expires_at = None
    if application.participant is not None:
        db.session.delete(application.participant)
        application.participant = None
    _notify(application, "withdrawn")
    db.session.flush()
    return offer_next_seat(group, now) if had_seat else None


def delete_before_decision(application: Application, now: datetime | None = None) -> None:
    """The applicant deletes their application, and with it the mail about it."""
    lifecycle.check(application.status, Action.delete, Actor.applicant)
    redact_messages_about(select(literal(application.id)), now or utcnow())
    db.session.delete(application)


# --- seats ------------------------------------------------------------------------------------


def lock_course(group_id: int) -> RemoteGroup:
    """The course row, locked for this transaction, so seat counts cannot change under us."""
    group = db.session.scalar(
        select(RemoteGroup).where(RemoteGroup.id == group_id).with_for_update()
    )
    if group is None:
        raise ServiceError(_l("The course no longer exists."))
    return group


def seats_taken(group_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count(Application.id)).where(
                Application.group_id == group_id, Application.status.in_(SEAT_TAKING)
            )
        )
        or 0
    )


def seats_by_region(group_id: int) -> Counter[str]:
    rows = db.session.execute(
        select(Region.slug, func.count(Application.id))
        .join(Application, Application.home_region_id == Region.id)
        .where(Application.group_id == group_id, Application.status.in_(SEAT_TAKING))
        .group_by(Region.slug)
    )
    return Counter({slug: count for slug, count in rows})


def _seat(
    application: Application,
    action: Action,
    actor: Actor,
    now: datetime,
    by: User | None,
    message: str | None,
) -> None:
    """Move the application to accepted (a coordinator's acceptance, an applicant's
    confirmation of an offer) and give it its participant feed and invitations."""
    _move(application, action, actor, now, by, message)
    application.offer_expires_at = None
    if application.participant is None:
        application.participant = Participant(group_id=application.group_id)
    db.session.flush()
    events.participant_accepted.send(application, now=now)
    _notify(
        application,
        "accepted",
        message=message,
        feed_url=url_for(
            "calendar.participant_feed",
            token=application.participant.feed_token,
            lang=application.language,
            _external=True,
        ),
    )


def decide(
    applications: Iterable[Application],
    decision: ApplicationStatus,
    by: User,
    message: str | None = None,
    now: datetime | None = None,
) -> None:
    """Apply one coordinator decision to one or more applications of the same course, all or
    nothing: a bulk acceptance that would not fit in the free seats is refused whole."""
    now = now or utcnow()
    action = lifecycle.decision_action(decision)
    chosen = list(applications)
    if not chosen:
        raise ServiceError(_l("Choose at least one application."))
    group_ids = {a.group_id for a in chosen}
    if len(group_ids) != 1:
        raise ServiceError(_l("Decide on one course at a time."))
    group = lock_course(group_ids.pop())
    for application in chosen:
        db.session.refresh(application)  # the state as of the lock, not as first read
        lifecycle.check(application.status, action, Actor.coordinator, name=application.name)
    if action == Action.accept:
        newly_seated = [a for a in chosen if a.status not in SEAT_TAKING]
        free = (group.capacity or 0) - seats_taken(group.id)
        if len(newly_seated) > free:
            raise ServiceError(
                _l(
                    "The course has %(free)d free places, not enough for %(count)d.",
                    free=max(free, 0),
                    count=len(newly_seated),
                )
            )
        for application in chosen:
            _seat(application, action, Actor.coordinator, now, by, message)
        return
    for application in chosen:
        had_seat = application.status in SEAT_TAKING
        _move(application, action, Actor.coordinator, now, by, message)
        application.offer_expires_at = None
        _notify(
            application,
            decision.value,
            version=f"{decision.value}:{len(application.decisions)}",
            message=message,
        )
        if had_seat:
            db.session.flush()
            offer_next_seat(group, now)


def candidates(applications: Iterable[Application]) -> list[Candidate]:
    return [Candidate(a.id, a.home_region.slug, a.created_at) for a in applications]


def suggestion_for(group: RemoteGroup) -> Suggestion:
    """The proposed acceptances among undecided applications, balancing regions' seats."""
    pending = db.session.scalars(
        select(Application).where(
            Application.group_id == group.id,
            Application.status.in_([ApplicationStatus.submitted, ApplicationStatus.waitlisted]),
        )
    )
    return suggest_selection(
        candidates(pending),
        [r.slug for r in group.regions],
        group.capacity or 1,
        taken=seats_by_region(group.id),
    )


def confirm_selection(
    group: RemoteGroup, accept_ids: list[int], by: User, now: datetime | None = None
) -> tuple[int, int]:
    """Accept the chosen applications and put the other undecided ones on the waiting list."""
    now = now or utcnow()
    pending = list(
        db.session.scalars(
            select(Application).where(
                Application.group_id == group.id,
                Application.status == ApplicationStatus.submitted,
            )
        )
    )
    waiting = list(
        db.session.scalars(
            select(Application).where(
                Application.group_id == group.id,
                Application.status == ApplicationStatus.waitlisted,
            )
        )
    )
    chosen = [a for a in pending + waiting if a.id in set(accept_ids)]
    if len(chosen) != len(set(accept_ids)):
        raise ServiceError(_l("Some of the chosen applications cannot be accepted any more."))
    if chosen:
        decide(chosen, ApplicationStatus.accepted, by, now=now)
    rest = [a for a in pending if a.id not in set(accept_ids)]
    if rest:
        decide(rest, ApplicationStatus.waitlisted, by, now=now)
    return len(chosen), len(rest)


# --- the waiting list -----------------------------------------------------------------------


def offer_days() -> int:
    return int(current_app.config.get("OFFER_DAYS", 3))


def offer_next_seat(group: RemoteGroup, now: datetime) -> Application | None:
    """Offer a free seat to the next waitlisted applicant, keeping regions balanced."""
    if seats_taken(group.id) >= (group.capacity or 0):
        return None
    waiting = {
        a.id: a
        for a in db.session.scalars(
            select(Application).where(
                Application.group_id == group.id,
                Application.status == ApplicationStatus.waitlisted,
            )
        )
    }
    chosen = next_offer(
        candidates(waiting.values()), [r.slug for r in group.regions], seats_by_region(group.id)
    )
    if chosen is None:
        return None
    application = waiting[chosen.key]
    _move(application, Action.offer, Actor.system, now)
    application.offer_expires_at = now + timedelta(days=offer_days())
    _notify(application, "offered", version=f"offered:{now.isoformat()}")
    return application


def rotate_feed_token(application: Application) -> str:
    """Give an accepted applicant a new calendar feed link; the old one stops working at
    the commit."""
    if application.participant is None:
        raise ServiceError(_l("You have no calendar link."))
    return application.participant.rotate_feed_token()


def confirm_offer(application: Application, now: datetime | None = None) -> None:
    now = now or utcnow()
    lock_course(application.group_id)
    db.session.refresh(application)
    lifecycle.check(application.status, Action.confirm, Actor.applicant)
    if application.offer_expires_at is None or application.offer_expires_at < now:
        raise ServiceError(_l("The offer has expired."))
    _seat(application, Action.confirm, Actor.applicant, now, None, None)


def expire_offers(now: datetime | None = None) -> int:
    """Pass unconfirmed offers on after their deadline. Returns how many expired."""
    now = now or utcnow()
    expired = list(
        db.session.scalars(
            select(Application).where(
                Application.status == ApplicationStatus.offered,
                Application.offer_expires_at < now,
            )
        )
    )
    for application in expired:
        group = lock_course(application.group_id)
        db.session.refresh(application)
        if not lifecycle.allowed(application.status, Action.expire, Actor.system):
            continue  # confirmed or withdrawn meanwhile
        _move(application, Action.expire, Actor.system, now, message="offer expired")
        application.offer_expires_at = None
        _notify(application, "offer_expired")
        db.session.flush()
        offer_next_seat(group, now)
    return len(expired)


# --- privacy --------------------------------------------------------------------------------


def anonymize_expired(now: datetime | None = None, retention_days: int | None = None) -> int:
    """Remove personal data of applications to courses that ended ``retention_days`` ago,
    counted in Helsinki days, as the courses' end dates are, and every copy of it in the
    outbox: the mail about anonymized applications is redacted (also mail linked to ones
    anonymized before it was linked, e.g. by the 0008 migration's backfill). The status
    token is replaced too: its old value is in mail the applicant holds."""
    now = now or utcnow()
    days = retention_days if retention_days is not None else current_app.config["RETENTION_DAYS"]
    cutoff = value_in_helsinki(now) - timedelta(days=int(days))
    due = list(
        db.session.scalars(
            select(Application)
            .join(RemoteGroup, Application.group_id == RemoteGroup.id)
            .where(RemoteGroup.term_end < cutoff, Application.anonymized_at.is_(None))
        )
    )
    for application in due:
        application.name = "—"
        application.email = f"anonymized-{application.id}@invalid"
        application.phone = None
        application.needs = None
        application.motivation = ""
        application.status_token = new_token()
        application.anonymized_at = now
        for decision in application.decisions:
            decision.message = None
        if application.participant is not None:
            db.session.delete(application.participant)
    db.session.flush()
    redact_messages_about(select(Application.id).where(Application.anonymized_at.is_not(None)), now)
    log.info("anonymized %d applications", len(due))
    return len(due)


# The participants file's columns, in the coordinator's language.
PARTICIPANT_COLUMNS = (_l("Name"), _l("Email"), _l("Phone"), _l("Region"), _l("Language"))
NEEDS_COLUMN = _l("What helps them take part")
UNREADABLE_NEEDS = _l("This cannot be decrypted: the data key is missing. Tell the administrator.")


def participants_csv(group: RemoteGroup, locale: str, include_needs: bool = False) -> str:
    """The accepted participants as a spreadsheet file (:mod:`spreadsheet`), headed in
    ``locale``."""
    query = (
        select(Application)
        .where(Application.group_id == group.id, Application.status == ApplicationStatus.accepted)
        .order_by(Application.name)
    )
    accepted = db.session.scalars(query)
    with force_locale(locale):
        header = [str(label) for label in PARTICIPANT_COLUMNS]
        if include_needs:
            header.append(str(NEEDS_COLUMN))
        unreadable = str(UNREADABLE_NEEDS)
    rows = []
    for a in accepted:
        row = [a.name, a.email, a.phone, a.home_region.name(locale).text, a.language]
        if include_needs:
            try:
                row.append(a.needs)
            except UndecryptableData:
                log.exception("the needs of application %s cannot be decrypted", a.id)
                row.append(unreadable)
        rows.append(row)
    return spreadsheet_csv(header, rows)


def applications_for_review(
    group: RemoteGroup, status: str | None, region: str | None, language: str | None
) -> list[Application]:
    query = select(Application).where(
        Application.group_id == group.id, Application.anonymized_at.is_(None)
    )
    if status in ApplicationStatus.__members__:
        query = query.where(Application.status == ApplicationStatus(status))
    if region:
        query = query.join(Region, Application.home_region_id == Region.id).where(
            Region.slug == region
        )
    if language in ("fi", "sv"):
        query = query.where(Application.language == language)
    return list(db.session.scalars(query.order_by(Application.created_at, Application.id)))
