"""Read an iCalendar document from stdin with libical (GNOME's parser, through Debian's
gir1.2-ical-3.0 and python3-gi) and print each event as JSON, like icaljs_read.mjs
(``--offsets TZID INSTANT...`` too).

Run with Debian's own /usr/bin/python3, which has python3-gi; the project's virtual
environment does not. With ``--own-zones-only`` every TZID is renamed to one libical has no
built-in zone for, so the instants come from the document's VTIMEZONE alone.
"""

import json
import sys

import gi

gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib  # noqa: E402

PRIVATE_PREFIX = "X-Remote-Groups-Test-"


def instant(value: "ICalGLib.Time") -> str:
    utc = value.convert_to_zone(ICalGLib.Timezone.get_utc_timezone())
    if utc is None:  # libical 3.0 converts in place and returns nothing
        utc = value
    return wall_clock(utc) + "Z"


def wall_clock(value: "ICalGLib.Time") -> str:
    date = f"{value.get_year():04d}-{value.get_month():02d}-{value.get_day():02d}"
    return f"{date}T{value.get_hour():02d}:{value.get_minute():02d}:{value.get_second():02d}"


def main() -> None:
    text = sys.stdin.read()
    if "--own-zones-only" in sys.argv:
        text = text.replace("TZID:", "TZID:" + PRIVATE_PREFIX).replace(
            "TZID=", "TZID=" + PRIVATE_PREFIX
        )
    root = ICalGLib.Component.new_from_string(text)
    if root is None:
        raise SystemExit("libical could not parse the document")
    method = root.get_first_property(ICalGLib.PropertyKind.METHOD_PROPERTY)
    events = []
    kind = ICalGLib.ComponentKind.VEVENT_COMPONENT
    vevent = root.get_first_component(kind)
    while vevent is not None:
        start, end = vevent.get_dtstart(), vevent.get_dtend()
        zone = start.get_timezone()
        tzid = zone.get_tzid() if zone is not None else None
        if (
            "--own-zones-only" in sys.argv
            and tzid not in (None, "UTC")
            and not tzid.startswith(PRIVATE_PREFIX)
        ):
            raise SystemExit(f"libical used a zone of its own: {tzid}")
        status = vevent.get_first_property(ICalGLib.PropertyKind.STATUS_PROPERTY)
        events.append(
            {
                "uid": vevent.get_uid(),
                "start": instant(start),
                "end": instant(end),
                "wall_clock": wall_clock(start),
                "tzid": tzid.removeprefix(PRIVATE_PREFIX) if tzid else None,
                "status": status.get_value_as_string() if status is not None else None,
                "summary": vevent.get_summary(),
            }
        )
        vevent = root.get_next_component(kind)
    offsets = {}
    if "--offsets" in sys.argv:
        at = sys.argv.index("--offsets")
        zone = root.get_timezone(sys.argv[at + 1])
        for moment in sys.argv[at + 2 :]:
            offsets[moment] = zone_offset(zone, moment)
    method_text = method.get_value_as_string() if method else None
    print(json.dumps({"method": method_text, "events": events, "offsets": offsets}))


def zone_offset(zone: "ICalGLib.Timezone", moment: str) -> int:
    """The UTC offset in seconds that ``zone`` gives the UTC instant ``moment``
    (``YYYY-MM-DDTHH:MM:SSZ``)."""
    utc = ICalGLib.Time.new_from_string(moment.replace("-", "").replace(":", ""))
    is_daylight = 0
    offset = zone.get_utc_offset_of_utc_time(utc)
    if isinstance(offset, tuple):
        offset, is_daylight = offset
    return int(offset)


main()
