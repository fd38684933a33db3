"""The staff home page lists what waits for the person, with counts and links, and the
navigation shows the same total on every staff page."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.extensions import db
from remote_groups.groups.models import GroupInvitation
from remote_groups.outbox.models import OutboxMessage, OutboxStatus
from remote_groups.regions.models import Role, User
from remote_groups.rotation import service as rotation
from tests.conftest import (
    csrf_token,
    helsinki_date,
    login,
    make_course_taking_applications,
    make_group,
    make_outbox_message,
    make_region,
    make_user,
)

REGIONS = ("lansi-uusimaa", "siun-sote", "varha")


def add_applications(course, region, count, status=ApplicationStatus.submitted):
    for i in range(count):
        db.session.add(
            Application(
                group=course,
                home_region=region,
                name=f"Hakija {course.slug} {i}",
                email=f"hakija{i}.{course.slug}@example.org",
                language="fi",
                motivation="Haluan oppia.",
                consent_at=course.application_opens and rotation.utcnow(),
                status=status,
            )
        )


@pytest.fixture
def network(app, now):
    """Three regions; lansi-uusimaa and siun-sote run a course with 3 undecided applications
    (and one already accepted); varha runs its own course with 2; an open group of all three
    regions starts tomorrow with no leads; siun-sote asks lansi-uusimaa to swap a session;
    varha invites lansi-uusimaa to its course; two messages failed."""
    today = helsinki_date(now)
    with app.app_context():
        lu, siun, varha = regions = [make_region(slug) for slug in REGIONS]
        db.session.flush()
        make_user("coord@lu.example.org", Role.coordinator, lu)
        siun_coord = make_user("coord@siun.example.org", Role.coordinator, siun)
        make_user("coord@varha.example.org", Role.coordinator, varha)
        make_user("fac@lu.example.org", Role.facilitator, lu)
        make_user("admin@example.org", Role.admin, None)
        shared = make_course_taking_applications([lu, siun], slug="yhteinen")
        add_applications(shared, lu, 2)
        add_applications(shared, siun, 1)
        add_applications(shared, lu, 1, ApplicationStatus.accepted)
        own = make_course_taking_applications([varha], slug="varhan-oma")
        add_applications(own, varha, 2)
        group = make_group(
            regions,
            now=now,
            term_start=today + timedelta(days=1),
            term_end=today + timedelta(days=120),
        )
        db.session.flush()
        siun_session = next(s for s in group.sessions if s.host_region_id == siun.id)
        rotation.propose_swap(siun_session, by=siun_coord, to_region=lu, now=now)
        db.session.add(GroupInvitation(group=own, region=lu))
        for i in range(2):
            make_outbox_message(i, OutboxStatus.failed)
        db.session.commit()
        lu_unfilled = len(rotation.unfilled_turns(lu.id, now, rotation.UNFILLED_WARNING_DAYS))
    assert lu_unfilled >= 1
    return {"lu_unfilled": lu_unfilled}


def waiting_links(page: str) -> dict[str, str]:
    """The "Waiting for you" list: link text → address."""
    section = page.split('id="waiting"', 1)[1].split("</section>", 1)[0]
    return {
        re.sub(r"\s+", " ", text).strip(): href.replace("&amp;", "&")
        for href, text in re.findall(r'<a href="([^"]+)">(.*?)</a>', section, re.S)
    }


def badge(page: str) -> int:
    match = re.search(r'<span class="badge">(\d+)<', page)
    return int(match.group(1)) if match else 0


def test_a_coordinator_sees_what_waits_with_counts_and_links(client, network):
    login(client, "coord@lu.example.org")
    page = client.get("/staff/").get_data(as_text=True)
    unfilled = network["lu_unfilled"]
    turns = "vuoro" if unfilled == 1 else "vuoroa"
    assert waiting_links(page) == {
        "3 uutta hakemusta kurssille Testiryhmä": (
            "/staff/courses/yhteinen/applications?status=submitted"
        ),
        "1 vaihtopyyntö odottaa vastausta": "/staff/our-turns#swaps",
        "1 kutsu ryhmään odottaa vastausta": "/staff/invitations",
        f"{unfilled} alueemme {turns} kahden seuraavan viikon aikana on ilman vetäjää": (
            "/staff/our-turns"
        ),
    }
    # The other region's own course is not theirs to review; the accepted one is not new.
    assert "varhan-oma" not in page.split('id="waiting"', 1)[1].split("</section>")[0]
    assert badge(page) == 3 + 1 + 1 + unfilled
    # Every link leads to a page that answers, and the badge is on other staff pages too.
    for href in waiting_links(page).values():
        assert client.get(href.split("#")[0]).status_code == 200
    assert badge(client.get("/staff/my-turns").get_data(as_text=True)) == 3 + 1 + 1 + unfilled


def test_a_facilitator_is_sent_to_volunteer_and_an_admin_to_the_failed_mail(client, network):
    login(client, "fac@lu.example.org")
    page = client.get("/staff/?lang=sv").get_data(as_text=True)
    links = waiting_links(page)
    assert list(links.values()) == ["/staff/my-turns#open"]
    assert "saknar ledare" in next(iter(links))
    client.post(
        "/staff/logout",
        data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)},
    )

    login(client, "admin@example.org")
    page = client.get("/staff/").get_data(as_text=True)
    assert waiting_links(page) == {"2 viestiä jäi lähettämättä": "/staff/outbox"}
    assert badge(page) == 2


def test_nothing_waiting_says_so_and_shows_no_badge(client, network, app):
    with app.app_context():
        for row in db.session.scalars(select(OutboxMessage)):
            row.status = OutboxStatus.sent
        db.session.commit()
    login(client, "admin@example.org")
    page = client.get("/staff/").get_data(as_text=True)
    assert "Mikään ei odota sinua nyt." in page
    assert 'class="badge"' not in page


def count_statements(app, client, path):
    statements = []

    def note(*args):
        statements.append(args[2])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return len(statements)


def test_the_home_page_costs_the_same_however_many_courses_wait(client, app, network, now):
    # Siun sote takes part in courses that lansi-uusimaa owns: the rules read who takes part.
    login(client, "coord@siun.example.org")
    before = count_statements(app, client, "/staff/")
    with app.app_context():
        lu, siun = (
            db.session.scalar(select(User).where(User.email == e)).region
            for e in ("coord@lu.example.org", "coord@siun.example.org")
        )
        for n in range(6):
            course = make_course_taking_applications([lu, siun], slug=f"lisakurssi-{n}")
            add_applications(course, siun, 2)
        db.session.commit()
    after = count_statements(app, client, "/staff/")
    page = client.get("/staff/").get_data(as_text=True)
    listed = page.split('id="waiting"', 1)[1].split("</section>", 1)[0].count("<li>")
    assert listed == 1 + 6 + 1  # the shared course, the six new ones, the unfilled turns ...
    assert after == before  # ... at no extra queries


def test_a_facilitator_is_told_whom_to_ask_for_what_only_a_coordinator_does(client, app, network):
    login(client, "fac@lu.example.org")
    for path in ("/staff/our-turns", "/staff/my-turns"):
        page = client.get(path).get_data(as_text=True)
        assert "Tarvitaanko muutos?" in page, path
        assert '<a href="mailto:coord@lu.example.org">coord@lu.example.org</a>' in page, path
        assert "coord@siun.example.org" not in page  # another region's coordinator
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})

    login(client, "coord@lu.example.org")  # the coordinator acts on these pages themselves
    assert "Tarvitaanko muutos?" not in client.get("/staff/our-turns").get_data(as_text=True)
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})

    with app.app_context():
        coordinator = db.session.scalar(select(User).where(User.email == "coord@lu.example.org"))
        coordinator.active = False  # a deactivated coordinator is nobody to ask
        db.session.commit()
    login(client, "fac@lu.example.org")
    page = client.get("/staff/our-turns?lang=sv").get_data(as_text=True)
    assert "Ditt område har ännu ingen koordinator i tjänsten. Fråga en administratör." in page
