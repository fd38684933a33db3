"""The administrators' outbox page shows what was sent to whom and when, a page at a time;
a message the retention rule redacted shows as removed."""

import re

from sqlalchemy import select

from remote_groups.extensions import db
from remote_groups.outbox.models import OutboxMessage, OutboxStatus
from remote_groups.regions.models import Role
from remote_groups.types import utcnow
from tests.conftest import login, make_outbox_message, make_region, make_user


def add_messages(count: int) -> None:
    for i in range(count):
        make_outbox_message(i, OutboxStatus.sent, sent_at=utcnow())


def test_recent_messages_name_recipient_and_subject_a_page_at_a_time(app, client):
    with app.app_context():
        region = make_region("varha")
        db.session.flush()
        make_user("admin@example.org", Role.admin, None)
        make_user("coord@varha.example.org", Role.coordinator, region)
        add_messages(60)
        db.session.commit()
        newest_id = db.session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()))
    login(client, "admin@example.org")
    first = client.get("/staff/outbox").get_data(as_text=True)
    shown = re.findall(r"<td>(person\d+@example\.org)</td>\s*<td>(Aihe \d+)</td>", first)
    assert len(shown) == 50
    assert shown[0] == ("person59@example.org", "Aihe 59")  # newest first
    older = re.search(r'href="(/staff/outbox\?before=\d+)#recent"', first).group(1)
    second = client.get(older).get_data(as_text=True)
    shown_later = re.findall(r"<td>(person\d+@example\.org)</td>", second)
    assert shown_later == [f"person{i}@example.org" for i in range(9, -1, -1)]
    assert "?before=" not in second  # the oldest page has no older one

    # A page number out of range is the newest page, not an error.
    assert client.get(f"/staff/outbox?before={2**40}").status_code == 200
    assert (
        client.get(f"/staff/outbox?before={newest_id + 1}")
        .get_data(as_text=True)
        .count("@example.org</td>")
        == 50
    )

    with app.app_context():
        row = db.session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
        row.redacted_at = utcnow()
        db.session.commit()
    page = client.get("/staff/outbox").get_data(as_text=True)
    assert "person59@example.org" not in page
    assert "Poistettu säilytyssäännön mukaisesti" in page


def test_only_administrators_see_the_outbox(app, client):
    with app.app_context():
        region = make_region("varha")
        db.session.flush()
        make_user("coord@varha.example.org", Role.coordinator, region)
        db.session.commit()
    login(client, "coord@varha.example.org")
    assert client.get("/staff/outbox").status_code == 403
