// Read an iCalendar document from stdin with Mozilla's ical.js (the parser of Thunderbird's
// calendar) and print each event as JSON: uid, start and end as UTC instants, the wall-clock
// start in the event's own zone, status and summary.
//
// (No UTC-to-zone offsets mode as libical_read.py has: ical.js converts a UTC time by asking the
// zone for the offset of that wall-clock time, which is off within hours of a change by design.)
//
// The calendar's own VTIMEZONE components are registered with ical.js's timezone service, as
// a client that knows no zone database of its own does; TZIDs are resolved only through them.
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const root = new ICAL.Component(ICAL.parse(Buffer.concat(chunks).toString("utf8")));

ICAL.TimezoneService.reset();
for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(vtimezone));
}

function instant(time) {
  return new Date(time.toUnixTime() * 1000).toISOString().replace(".000Z", "Z");
}

const events = root.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  const start = event.startDate;
  if (start.zone && start.zone.tzid !== "UTC" && !ICAL.TimezoneService.has(start.zone.tzid)) {
    throw new Error(`no VTIMEZONE for ${start.zone.tzid}`);
  }
  return {
    uid: event.uid,
    start: instant(start),
    end: instant(event.endDate),
    wall_clock: start.toString(),
    tzid: start.timezone || (start.zone && start.zone.tzid) || null,
    status: vevent.getFirstPropertyValue("status"),
    summary: event.summary,
  };
});

process.stdout.write(
  JSON.stringify({ method: root.getFirstPropertyValue("method"), events }),
);
