"""Who gets a seat on a closed course: the suggested selection and the next waiting-list offer.

Pure standard-library code with no database or Flask access: the service passes plain
candidates, region slugs and seat counts and gets keys back. A coordinator sees the suggestion
as a starting point and adjusts it before confirming, so the rules aim to be easy to explain
rather than clever.

``suggest_selection`` fills the free seats in two passes:

1. **Even split.** Each participating region's quota is ``capacity // R`` of the *whole*
   course (R regions). Seats a region already holds (``taken``: accepted or offered) count
   towards its quota, and its own earliest applicants fill what remains of it. When the free
   seats cannot cover every remaining quota (for example because an earlier round gave one
   region more than its share), the seats are handed out one at a time to the region that
   holds the fewest seats so far, so the shortage is shared instead of falling on whichever
   region applied last. Ties go to the region whose next applicant applied first.
2. **By application time.** Quota seats that a region cannot use (too few applicants), the
   ``capacity % R`` leftover and seats freed by over-quota ``taken`` counts go to the remaining
   applicants of *any* participating region, earliest applied first.

Applicants whose home region does not take part in the course are never suggested: the
course's regions pay for it. They are not dropped either, so the coordinator still sees them;
they stand at the end of the waiting list.

The waiting list is in application order (ties by key), participating regions first. It is not
the order in which ``next_offer`` will actually make offers: that depends on which region's
participant withdraws, which nobody knows yet. Application order is stable and can be told
to an applicant ("you applied third among those waiting") with the note that regional balance
may move an applicant of an under-represented region ahead.

``next_offer`` keeps the balance when a seat opens: it offers the seat to the earliest
waitlisted applicant of the region(s) with the fewest seated participants among regions that
still have someone waiting. Applicants from outside the course's regions come only after
everyone else.

Guarantees (tested in ``tests/applications/test_selection.py``). With ``free = max(0,
capacity - sum(taken))``, ``q = capacity // R`` and ``held[r] = taken[r] + seats given to r``:

* at most ``free`` seats are given, exactly ``min(free, participating applicants)``;
* accepted and waiting list partition the candidates; only participating applicants are
  accepted;
* within a region, no one waits while a later applicant of the same region is accepted;
* an applicant waits while a later one of another region is accepted only if that later one
  got a quota seat (was among the first ``q - taken[r]`` of their region);
* every region with someone still waiting holds at least ``q`` seats, unless the free seats
  ran out first; then it holds at most one seat fewer than any region that received a seat;
* with nothing taken and at least ``q`` applicants in every region, each region gets between
  ``q`` and ``q + capacity % R`` seats (the leftover follows application time, so it may
  all go to one region);
* the order of the candidates and of the regions does not change the result.

Cost: O(N log N + F log R) for N candidates, F free seats and R regions.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Candidate", "Suggestion", "next_offer", "suggest_selection"]


@dataclass(frozen=True)
class Candidate:
    """One undecided application, as the selection sees it."""

    key: int
    """Application id: unique within one call, breaks ties between equal application times."""
    region: str
    """Slug of the applicant's home region."""
    applied_at: datetime
    """When the application arrived; timezone-aware so that instants compare correctly."""


@dataclass(frozen=True)
class Suggestion:
    """A proposed selection for the coordinator to adjust and confirm."""

    accept: tuple[int, ...]
    """Keys to accept, in the order the seats were given (even-split pass first)."""
    waitlist: tuple[int, ...]
    """Every other key: participating regions' applicants by application time, then others."""
    seats_by_region: dict[str, int]
    """Seats given by this suggestion per participating region (0 included)."""


def _queue_key(candidate: Candidate) -> tuple[datetime, int]:
    """First come, first served; the key makes the order total and thus input-order free."""
    return (candidate.applied_at, candidate.key)


def _check_regions(regions: Sequence[str]) -> None:
    if not regions:
        raise ValueError("A course needs at least one participating region.")
    if len(set(regions)) != len(regions):
        raise ValueError(f"Participating regions repeat: {list(regions)!r}.")


def _check_candidates(candidates: Sequence[Candidate]) -> None:
    seen: set[int] = set()
    for candidate in candidates:
        if candidate.key in seen:
            raise ValueError(f"Candidate key {candidate.key!r} appears twice.")
        seen.add(candidate.key)
        when = candidate.applied_at
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError(f"Candidate {candidate.key!r} has a naive applied_at: {when!r}.")


def _check_counts(counts: Mapping[str, int], name: str) -> None:
    for region, count in counts.items():
        if count < 0:
            raise ValueError(f"{name}[{region!r}] is negative: {count!r}.")


def suggest_selection(
    candidates: Sequence[Candidate],
    regions: Sequence[str],
    capacity: int,
    *,
    taken: Mapping[str, int] | None = None,
) -> Suggestion:
    """Suggest whom to accept: an even split of the capacity across ``regions``, the rest by
    application time. ``taken`` holds seats already accepted or offered, per region slug; seats
    held by applicants from outside ``regions`` still use up capacity."""
    _check_regions(regions)
    if capacity < 1:
        raise ValueError(f"Capacity must be at least 1, got {capacity!r}.")
    held = dict(taken or {})
    _check_counts(held, "taken")
    _check_candidates(candidates)

    free = max(0, capacity - sum(held.values()))
    quota = capacity // len(regions)
    queues: dict[str, list[Candidate]] = {region: [] for region in regions}
    outsiders: list[Candidate] = []
    for candidate in sorted(candidates, key=_queue_key):
        queues.get(candidate.region, outsiders).append(candidate)

    given = dict.fromkeys(regions, 0)
    accept: list[Candidate] = []

    # Pass 1, even split: the region holding the fewest seats picks its next applicant until
    # every region has reached its quota or run out of applicants, or the seats run out.
    ready = [
        (held.get(region, 0), _queue_key(queue[0]), region)
        for region, queue in queues.items()
        if queue and held.get(region, 0) < quota
    ]
    heapq.heapify(ready)
    while ready and len(accept) < free:
        count, _, region = heapq.heappop(ready)
        queue = queues[region]
        accept.append(queue[given[region]])
        given[region] += 1
        if given[region] < len(queue) and count + 1 < quota:
            heapq.heappush(ready, (count + 1, _queue_key(queue[given[region]]), region))

    # Pass 2, by application time: unused quota and the leftover go to whoever applied first.
    rest = sorted(
        (candidate for region in regions for candidate in queues[region][given[region] :]),
        key=_queue_key,
    )
    extra = rest[: free - len(accept)]
    for candidate in extra:
        given[candidate.region] += 1
    accept.extend(extra)
    waitlist = rest[len(extra) :] + outsiders

    return Suggestion(
        accept=tuple(candidate.key for candidate in accept),
        waitlist=tuple(candidate.key for candidate in waitlist),
        seats_by_region=given,
    )


def next_offer(
    waitlist: Sequence[Candidate], regions: Sequence[str], seated: Mapping[str, int]
) -> Candidate | None:
    """The waitlisted applicant to offer a freed seat to: the earliest applicant of the least
    seated region that has someone waiting, so that each offer narrows the regional gap.
    ``seated`` counts seats per region slug (missing means 0). Applicants from outside
    ``regions`` are offered a seat only when no participating region has anyone waiting."""
    _check_regions(regions)
    _check_counts(seated, "seated")
    _check_candidates(waitlist)
    if not waitlist:
        return None
    participating = set(regions)
    inside = [candidate for candidate in waitlist if candidate.region in participating]
    if not inside:
        return min(waitlist, key=_queue_key)
    return min(inside, key=lambda c: (seated.get(c.region, 0), *_queue_key(c)))
