"""The site's one public address: every absolute link comes from BASE_URL, and requests for
any other host are refused.

A link built from the request's ``Host`` header would let anyone who sends a forged one
(``Host: evil.example``) get mail from this site that points at their own server: an
applicant's status link, a participant's calendar feed, a subscription's confirmation,
each with its secret token. So :class:`PublicAddressFlask` builds every external URL
(``url_for(..., _external=True)`` in code and templates alike, and every URL outside a
request) from BASE_URL, whatever host the request named, and answers a request for a host
outside ``TRUSTED_HOSTS`` with a plain 400 before any of the application runs.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, has_app_context, has_request_context
from flask.globals import app_ctx, request_ctx
from flask_babel import force_locale, gettext
from werkzeug.exceptions import SecurityError
from werkzeug.routing import MapAdapter
from werkzeug.wsgi import get_host

log = logging.getLogger(__name__)


def wrong_host_body(app: Flask) -> str:
    """The 400 page for another host: one line in each of the site's languages (there is no
    request to choose one from yet), from the catalogs like every other text."""
    lines = []
    with app.app_context():
        for language in app.config["LANGUAGES"]:
            with force_locale(language):
                lines.append(gettext("This site is not served at that address."))
    return "400\n" + "\n".join(lines) + "\n"


class PublicAddressFlask(Flask):
    """Flask with absolute links from BASE_URL and requests for other hosts refused.

    BASE_URL may carry a path, ``https://x.example/ryhmat``, when the site is served under
    one: the path of a link is then taken relative to the root the request came in at
    (``SCRIPT_NAME``), so the prefix is never written twice.
    """

    _wrong_host_body: str | None = None  # made once, on the first refusal

    def url_for(
        self,
        /,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: Any,
    ) -> str:
        """Flask's ``url_for``, but an external URL (``_external=True``, or any URL built
        outside a request) is BASE_URL followed by the endpoint's path. ``_scheme`` is
        ignored: the scheme is BASE_URL's."""
        if _external is None:
            _external = _scheme is not None or not has_request_context()
        path = super().url_for(
            endpoint, _anchor=_anchor, _method=_method, _external=False, **values
        )
        if not _external:
            return path
        return self.config["BASE_URL"].rstrip("/") + path.removeprefix(self._root_of_paths())

    def _root_of_paths(self) -> str:
        """The prefix Flask puts before each path it builds: the request's ``SCRIPT_NAME``,
        or outside a request the path of BASE_URL (:meth:`create_url_adapter`)."""
        if has_request_context():
            adapter = request_ctx.url_adapter
        elif has_app_context():
            adapter = app_ctx.url_adapter
        else:
            adapter = self.create_url_adapter(None)
        return adapter.script_name.rstrip("/") if adapter is not None else ""

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Outside a request (commands, scheduled jobs) URLs are built for BASE_URL, not for
        SERVER_NAME and APPLICATION_ROOT."""
        if request is not None:
            return super().create_url_adapter(request)
        base = urlsplit(self.config["BASE_URL"])
        return self.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        """Refuse a request for a host outside ``TRUSTED_HOSTS`` before the application sees
        it (Flask's own check would leave the error page unable to build its links)."""
        try:
            get_host(environ, self.config["TRUSTED_HOSTS"])
        except SecurityError:
            log.warning(
                "refused a request for host %r: not in TRUSTED_HOSTS",
                environ.get("HTTP_HOST", "")[:100],
            )
            if self._wrong_host_body is None:
                self._wrong_host_body = wrong_host_body(self)
            response = Response(self._wrong_host_body, status=400, mimetype="text/plain")
            response.headers["X-Content-Type-Options"] = "nosniff"
            return response(environ, start_response)
        return super().wsgi_app(environ, start_response)
