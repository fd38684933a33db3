"""Walk a site's pages as a logged-in person would, by following its links.

``crawl`` is a breadth-first walk of the same-site links (``<a href="/…">``) from a start page,
in a fixed order (each page's links sorted), so two runs on the same data visit the same pages.
It only reads: GET requests, and nothing that downloads a file (calendar feeds, CSV), changes
the language or logs out.
"""

from __future__ import annotations

from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException

# Links the walk does not follow: they change the session (language, logout), are files rather
# than pages (feeds, spreadsheets), or are static assets.
SKIPPED_PREFIXES = ("/language/", "/calendar/", "/static/")
SKIPPED_SUFFIXES = (".ics", ".csv")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def same_site_links(html: str) -> list[str]:
    """The page's links to paths of this site (``/…``, not ``//host``), without fragments,
    sorted and each once."""
    parser = _Links()
    parser.feed(html)
    parser.close()
    paths = set()
    for href in parser.hrefs:
        path = urldefrag(href).url
        if path.startswith("/") and not path.startswith("//"):
            paths.add(path)
    return sorted(paths)


def is_followed(path: str) -> bool:
    plain = path.split("?", 1)[0]
    if plain.startswith(SKIPPED_PREFIXES) or plain.endswith(SKIPPED_SUFFIXES):
        return False
    return "logout" not in plain


def crawl(client: FlaskClient, start: str, *, limit: int = 400) -> dict[str, str]:
    """Breadth-first GETs from ``start`` along same-site links; {path: html} of every page
    that answered 200 with text/html, in the order visited. At most ``limit`` requests."""
    return crawl_from(client, [start], limit=limit)


def crawl_from(client: FlaskClient, starts: list[str], *, limit: int = 400) -> dict[str, str]:
    """As :func:`crawl`, from several start pages at once (each page is fetched once, the
    starts first, in the order given): for pages that are not linked from the first."""
    pages: dict[str, str] = {}
    seen = set(starts)
    queue = deque(dict.fromkeys(starts))
    requests = 0
    while queue and requests < limit:
        path = queue.popleft()
        requests += 1
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        pages[path] = html
        for link in same_site_links(html):
            if link not in seen and is_followed(link):
                seen.add(link)
                queue.append(link)
    return pages


def page_type(app: Flask, path: str) -> str:
    """The endpoint that answers a path, e.g. "rotation.group_rotation"."""
    adapter = app.url_map.bind(app.config.get("SERVER_NAME") or "localhost")
    try:
        endpoint, _ = adapter.match(path.split("?", 1)[0], method="GET")
    except HTTPException:
        return "?"
    return str(endpoint)
