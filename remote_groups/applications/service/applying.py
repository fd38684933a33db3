"""The applicant's side: submitting (one application per person, :func:`same_person`), the
status link, contact details, withdrawing, deleting before a decision, and the participant's
calendar feed token. Everything but :func:`submit_application` is reached through the status
link (:func:`application_by_token`)."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import literal, select

from remote_groups.applications import lifecycle
from remote_groups.applications.lifecycle import Action, Actor
from remote_groups.applications.models import SEAT_TAKING, Application, ApplicationDecision
from remote_groups.applications.service.common import move, notify
from remote_groups.applications.service.seats import lock_course
from remote_groups.applications.service.waitlist import offer_next_seat
from remote_groups.extensions import db
from remote_groups.groups.models import GroupKind, RemoteGroup
from remote_groups.outbox.retention import redact_messages_about
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
    # The separate consent to show the needs to the sessions' facilitators.
    share_needs: bool = False


def today_in(group: RemoteGroup, now: datetime) -> date:
    return now.astimezone(group.zone).date()


def status_url(application: Application) -> str:
    return url_for("applications.status", token=application.status_token, _external=True)


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
    needs = (data.needs or "").strip() or None
    application = Application(
        group=group,
        name=name,
        email=email,
        phone=(data.phone or "").strip() or None,
        home_region=region,
        language=data.language,
        needs=needs,
        motivation=data.motivation.strip(),
        consent_at=now,
        needs_shared_at=now if data.share_needs and needs else None,
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
    notify(application, "received")
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
    notify(application, "status_link", version=f"link:{now:%Y%m%d%H}")


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
    move(application, Action.withdraw, Actor.applicant, now)
    application.offer_expires_at = None
    if application.participant is not None:
        db.session.delete(application.participant)
        application.participant = None
    notify(application, "withdrawn")
    db.session.flush()
    return offer_next_seat(group, now) if had_seat else None


def delete_before_decision(application: Application, now: datetime | None = None) -> None:
    """The applicant deletes their application, and with it the mail about it."""
    lifecycle.check(application.status, Action.delete, Actor.applicant)
    redact_messages_about(select(literal(application.id)), now or utcnow())
    db.session.delete(application)


def rotate_feed_token(application: Application) -> str:
    """Give an accepted applicant a new calendar feed link; the old one stops working at
    the commit."""
    if application.participant is None:
        raise ServiceError(_l("You have no calendar link."))
    return application.participant.rotate_feed_token()
