"""Demo data, dated relative to today, as DESIGN.md §4 describes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from remote_groups.applications import lifecycle
from remote_groups.applications.lifecycle import Action, Actor
from remote_groups.applications.models import Application, ApplicationDecision, Participant
from remote_groups.applications.service.common import move
from remote_groups.extensions import db
from remote_groups.groups import service as group_service
from remote_groups.groups.models import GroupKind, Publication, RemoteGroup, RotationPolicy
from remote_groups.groups.schedule import Occurrence, WeeklySchedule, occurrences
from remote_groups.regions.models import Region, Role, User
from remote_groups.rotation import service as rotation
from remote_groups.types import utcnow

REGIONS = (
    (
        "lansi-uusimaa",
        "Länsi-Uudenmaan hyvinvointialue",
        "Västra Nylands välfärdsområde",
        "Western Uusimaa Wellbeing Services County",
    ),
    (
        "siun-sote",
        "Pohjois-Karjalan hyvinvointialue – Siun sote",
        "Norra Karelens välfärdsområde – Siun sote",
        "North Karelia Wellbeing Services County – Siun sote",
    ),
    (
        "varha",
        "Varsinais-Suomen hyvinvointialue – Varha",
        "Egentliga Finlands välfärdsområde – Varha",
        "Southwest Finland Wellbeing Services County – Varha",
    ),
)

# Fixed, printed demo passwords: the demo is for trying the service out, never for real data.
ADMIN = ("admin@example.org", "Demo Admin", "demo-admin-2026")
STAFF_PASSWORD = "demo-staff-2026"
STAFF_NAMES = {
    "lansi-uusimaa": ("Liisa Lindholm", "Aino Aaltonen", "Björn Berg"),
    "siun-sote": ("Sirpa Sormunen", "Pekka Pesonen", "Kaisa Kettunen"),
    "varha": ("Ville Virtanen", "Emma Eklund", "Mikko Mäkinen"),
}


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    password: str


def ten_session_term(start: date, weekday: int, at: time, minutes: int, sessions: int) -> date:
    """The last day of a term that holds exactly ``sessions`` meetings after holiday skips."""
    end = start
    while True:
        end += timedelta(days=7)
        schedule = WeeklySchedule(weekday, at, minutes, start, end)
        if sum(isinstance(o, Occurrence) for o in occurrences(schedule)) >= sessions:
            return end


def load_demo(today: date | None = None, now: datetime | None = None) -> list[DemoLogin]:
    """Create the demo regions, staff, groups and sessions. The caller commits."""
    now = now or utcnow()
    today = today or now.astimezone(ZoneInfo("Europe/Helsinki")).date()
    logins: list[DemoLogin] = []

    regions: list[Region] = []
    for slug, fi, sv, en in REGIONS:
        region = Region(
            slug=slug,
            name_fi=fi,
            name_sv=sv,
            name_en=en,
            contact_email=f"etaryhmat@{slug}.example.org",
        )
        db.session.add(region)
        regions.append(region)

    admin = User(email=ADMIN[0], name=ADMIN[1], role=Role.admin, language="fi")
    admin.set_password(ADMIN[2])
    db.session.add(admin)
    logins.append(DemoLogin(ADMIN[0], "admin", ADMIN[2]))

    facilitators: dict[str, list[User]] = {}
    for region in regions:
        coordinator_name, *facilitator_names = STAFF_NAMES[region.slug]
        people = [(coordinator_name, Role.coordinator)] + [
            (name, Role.facilitator) for name in facilitator_names
        ]
        for index, (name, role) in enumerate(people):
            suffix = "coordinator" if role == Role.coordinator else f"facilitator{index}"
            email = f"{suffix}@{region.slug}.example.org"
            user = User(
                email=email,
                name=name,
                role=role,
                region=region,
                language="sv" if name.startswith(("Björn", "Emma")) else "fi",
            )
            user.set_password(STAFF_PASSWORD)
            db.session.add(user)
            logins.append(DemoLogin(email, role.value, STAFF_PASSWORD))
            if role == Role.facilitator:
                facilitators.setdefault(region.slug, []).append(user)
    db.session.flush()

    course_start = today + timedelta(days=21)
    course_time = time(10, 0)
    course = RemoteGroup(
        kind=GroupKind.closed,
        publication=Publication.published,
        capacity=10,
        application_opens=today - timedelta(days=7),
        application_closes=today + timedelta(days=14),
    )
    group_service.save_group(
        course,
        {
            "slug": "hyvinvointikurssi",
            "language": "fi",
            "title_fi": "Hyvinvointikurssi: ravinto, liikunta ja mieli",
            "title_sv": "Välmåendekurs: kost, motion och sinne",
            "title_en": "Wellbeing course: food, exercise and mind",
            "description_fi": "Kymmenen viikon etäkurssi hyvinvoinnista. Puhumme ruoasta, "
            "liikkumisesta ja mielen hyvinvoinnista. Ohjaajat vaihtuvat viikoittain: "
            "jokainen alue ohjaa vuorollaan.",
            "description_sv": "En distanskurs på tio veckor om välmående. Vi pratar om mat, "
            "motion och psykiskt välmående. Handledarna byts varje vecka: varje område "
            "handleder i tur och ordning.",
            "audience_fi": "Vammaispalvelujen asiakkaille Länsi-Uudeltamaalta, Pohjois-Karjalasta "
            "ja Varsinais-Suomesta. Haku on auki nyt.",
            "audience_sv": "För klienter inom funktionshinderservicen i Västra Nyland, Norra "
            "Karelen och Egentliga Finland. Ansökan är öppen nu.",
            "theme": "hyvinvointi",
            "meeting_url": "https://meet.example.org/hyvinvointikurssi",
            "weekday": course_start.weekday(),
            "start_time": course_time,
            "duration_minutes": 90,
            "term_start": course_start,
            "term_end": ten_session_term(course_start, course_start.weekday(), course_time, 90, 10),
            "skip_holidays": True,
            "rotation_policy": RotationPolicy.round_robin,
        },
        regions,
        regions[0],
        now,
    )

    open_group = RemoteGroup(kind=GroupKind.open, publication=Publication.published)
    thursday = today + timedelta(days=(3 - today.weekday()) % 7)
    group_service.save_group(
        open_group,
        {
            "slug": "avoin-etaryhma",
            "language": "fi",
            "title_fi": "Avoin etäryhmä: torstain tapaaminen",
            "title_sv": "Öppen distansgrupp: torsdagsträffen",
            "title_en": "Open remote group: the Thursday meeting",
            "description_fi": "Avoin ryhmä, johon voit tulla ilman ilmoittautumista. Juttelemme, "
            "liikumme vähän ja opimme uutta. Tule silloin, kun sinulle sopii.",
            "description_sv": "En öppen grupp som du kan delta i utan att anmäla dig. Vi pratar, "
            "rör på oss lite och lär oss nytt. Kom när det passar dig.",
            "audience_fi": "Kaikille vammaispalvelujen asiakkaille. Tarvitset vain laitteen, "
            "jossa on kamera ja internetyhteys.",
            "audience_sv": "För alla klienter inom funktionshinderservicen. Du behöver bara en "
            "apparat med kamera och internetanslutning.",
            "theme": "yhdessäolo",
            "meeting_url": "https://meet.example.org/avoin-etaryhma",
            "weekday": 3,
            "start_time": time(13, 0),
            "duration_minutes": 60,
            "term_start": thursday,
            "term_end": thursday + timedelta(days=365),
            "skip_holidays": True,
            "rotation_policy": RotationPolicy.round_robin,
        },
        regions,
        regions[2],
        now,
    )
    db.session.flush()

    for group in (course, open_group):
        for turn, session in enumerate(s for s in group.sessions if not s.cancelled):
            people = facilitators[session.host_region.slug]
            session.lead_facilitator = people[turn // len(regions) % len(people)]
    add_demo_applicants(course, regions, now)
    add_demo_dates_and_proposals(open_group, regions, now)
    return logins


def add_demo_dates_and_proposals(group: RemoteGroup, regions: list[Region], now: datetime) -> None:
    """The first region cannot host on the day of one of its turns (marked by its coordinator,
    not yet planned around, so re-planning has something to show); one of its facilitators
    proposes another day and offers a later turn to the second region, both waiting for the
    coordinator's approval."""
    region, other = regions[0], regions[1]
    coordinator = next(u for u in region.users if u.role == Role.coordinator)
    facilitator = next(u for u in region.users if u.role == Role.facilitator)
    turns = [
        s
        for s in group.sessions
        if s.host_region_id == region.id and s.starts_at > now + timedelta(days=28)
    ]
    marked, proposed = (turns[i].starts_at.astimezone(group.zone).date() for i in range(2))
    rotation.add_blackout(region, marked, marked, "Henkilöstön koulutuspäivä", coordinator)
    rotation.add_blackout(region, proposed, proposed, "Alueen henkilöstöpäivät", facilitator)
    rotation.propose_swap(
        turns[2],
        by=facilitator,
        to_region=other,
        message="Ohjaajamme on silloin koulutuksessa.",
        now=now,
    )


DEMO_APPLICANTS = (
    # name, region index, language, accepted?, needs
    ("Anni Asiakas", 0, "fi", True, "Tarvitsen tulkin."),
    ("Bo Berglund", 0, "sv", False, None),
    ("Helmi Heikkinen", 1, "fi", True, None),
    ("Jussi Jokinen", 1, "fi", False, "Pidän mielelläni taukoja."),
    ("Siiri Salminen", 2, "fi", True, None),
    ("Tove Törnqvist", 2, "sv", False, None),
)


def add_demo_applicants(course: RemoteGroup, regions: list[Region], now: datetime) -> None:
    """A few pending and accepted applicants, so review pages, participant feeds and reminder
    mail have something to show."""
    for minutes, (name, region_index, language, accepted, needs) in enumerate(DEMO_APPLICANTS):
        applied_at = now - timedelta(days=2, minutes=-minutes)
        application = Application(
            group=course,
            name=name,
            email=name.lower().replace(" ", ".").translate(ASCII) + "@example.org",
            home_region=regions[region_index],
            language=language,
            needs=needs,
            motivation="Haluan tavata muita ja oppia hyvinvoinnista."
            if language == "fi"
            else "Jag vill träffa andra och lära mig om välmående.",
            consent_at=applied_at,
            created_at=applied_at,
            status=lifecycle.INITIAL,
        )
        application.decisions.append(
            ApplicationDecision(to_status=lifecycle.INITIAL, actor=Actor.applicant, at=applied_at)
        )
        if accepted:
            # Accepted by the home region's coordinator, through the one place a state changes.
            coordinator = db.session.scalar(
                select(User).where(
                    User.region_id == regions[region_index].id, User.role == Role.coordinator
                )
            )
            move(application, Action.accept, Actor.coordinator, now, by=coordinator)
            application.participant = Participant(group=course)
        db.session.add(application)


ASCII = str.maketrans("äöåÄÖÅ", "aoaAOA")


def database_is_empty() -> bool:
    return db.session.scalar(select(Region.id).limit(1)) is None
