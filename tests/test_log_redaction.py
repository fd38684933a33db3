"""Private-link tokens stay out of the access log however the path is encoded: the server
decodes ``/applications%2F<token>`` to the status page, while the log writes the request
line as it came."""

from __future__ import annotations

import http.client
import logging
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from remote_groups.logs import JsonFormatter, TextFormatter
from tests.applications.conftest import apply, token_of
from tests.applications.conftest import course as course  # noqa: F401 (the fixture)


@pytest.fixture
def server(app) -> Iterator[BaseWSGIServer]:
    """The development server, whose access log is the werkzeug logger's."""
    running = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield running
    running.shutdown()
    thread.join(timeout=10)


def get(server: BaseWSGIServer, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": "localhost"})
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_token_behind_percent_escapes_is_redacted_in_the_access_log(
    app, client, course, server, caplog
):
    caplog.set_level(logging.INFO, logger="werkzeug")
    apply(client)
    token = token_of(app, "aino@example.org")
    assert get(server, f"/applications%2F{token}") == 200, "the escaped path opens the page"
    for path in (
        f"/applications%2f{token}/received",
        f"/%61pplications/{token}",
        f"/applications%252F{token}",
        f"/calendar%2Fp%2F{token}.ics",
        f"/x?%74oken={token}",
    ):
        get(server, path)
    records = [r for r in caplog.records if r.name == "werkzeug"]
    assert len(records) == 6
    for record in records:
        for line in (JsonFormatter().format(record), TextFormatter().format(record)):
            assert token not in line
            assert "…" in line
