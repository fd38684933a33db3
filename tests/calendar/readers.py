"""The calendar parsers people's programs use, as test helpers.

- **ical.js** (Mozilla; the parser of Thunderbird's calendar), pinned in
  ``tools/calendar_readers/package-lock.json`` and run with Node.js;
- **libical** (GNOME Evolution and many others), through Debian's ``gir1.2-ical-3.0`` and
  ``python3-gi``, run with Debian's ``/usr/bin/python3``.

Both are installed by ``make calendar-readers`` (a part of ``make test``). Each reader prints
the events it found as JSON; a missing reader skips its tests outside CI and fails them with
``CI=true``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

READERS = Path(__file__).resolve().parents[2] / "tools" / "calendar_readers"
SYSTEM_PYTHON = "/usr/bin/python3"

Reader = Callable[..., dict[str, Any]]


def _unavailable(why: str) -> None:
    message = f"{why}; run `make calendar-readers`"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true requires it)")
    pytest.skip(message)


@cache
def _icaljs_missing() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not installed"
    if not (READERS / "node_modules" / "ical.js" / "package.json").exists():
        return "ical.js is not installed in tools/calendar_readers"
    return None


@cache
def _libical_missing() -> str | None:
    check = [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('ICalGLib', '3.0')"]
    try:
        subprocess.run(check, check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return "libical's Python binding (gir1.2-ical-3.0, python3-gi) is not installed"
    return None


def _run(command: list[str], data: bytes) -> dict[str, Any]:
    done = subprocess.run(command, input=data, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    return json.loads(done.stdout)


def read_with_icaljs(data: bytes, *arguments: str) -> dict[str, Any]:
    if (why := _icaljs_missing()) is not None:
        _unavailable(why)
    return _run(["node", str(READERS / "icaljs_read.mjs"), *arguments], data)


def read_with_libical(data: bytes, *arguments: str) -> dict[str, Any]:
    if (why := _libical_missing()) is not None:
        _unavailable(why)
    return _run([SYSTEM_PYTHON, str(READERS / "libical_read.py"), *arguments], data)


def read_with_libical_own_zones(data: bytes, *arguments: str) -> dict[str, Any]:
    """libical, with every TZID renamed so that only the document's VTIMEZONE can answer."""
    return read_with_libical(data, "--own-zones-only", *arguments)


READERS_BY_NAME: dict[str, Reader] = {
    "ical.js": read_with_icaljs,
    "libical": read_with_libical,
    "libical, own VTIMEZONE only": read_with_libical_own_zones,
}
