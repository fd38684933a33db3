"""Which welfare region hosts ("facilitates") each session of a group: the rotation planner.

Pure standard-library code with no database or Flask access: callers pass plain slots, region
slugs and blackouts and get a plan back, so re-planning can be previewed before anything is
stored.

The ``round_robin`` policy plans in three passes:

1. **Nominal rotation.** Ignoring blackouts, each session goes to the region with the fewest
   turns so far (prior turns and fixed sessions included), ties broken by rotation order. With
   no history this is plain round robin ``a, b, c, a, b, c``. A fixed session counts for its
   host when it happens. If fixed sessions late in the term leave the counts more than one
   apart, the latest open turns of the busiest regions are handed to the least busy ones.
2. **Detours around blackouts.** A session whose nominal host is blacked out is a *conflict*.
   Its host is owed the turn. The conflict takes the host of the next session, and the owed
   region takes that session: a swap. If the next session is a conflict too, the chain goes on
   through it, so a run of conflicts rotates by one place and the owed region is paid back
   just after the run. Every detour keeps each region's number of turns, so the balance of
   pass 1 survives. At the end of the term, where nothing comes after, the owed region swaps
   with an earlier session instead.
3. **Balancing.** If a detour could not keep the counts (blackouts too dense), turns are moved
   along chains of reassignments, each from a region with at least two turns more than the
   region at the other end, until none is left. No such chain left means that no assignment
   respecting the blackouts has a smaller sum of squared totals (Harvey, Ladner, Lovász and
   Tamir, "Semi-matchings for bipartite graphs and load balancing", 2006). So the totals
   differ by at most one whenever some assignment achieves that.

Stability. Because detours are built from the fixed nominal rotation, a new blackout only
changes the detour it touches. Say blackouts are sparse: each region is blacked out on at most
one session and each session has at most one region blacked out. Say also that the plan without
blackouts never gives two consecutive open sessions to the same region (true whenever prior turns
are equal and nothing is fixed). Then adding one more blackout changes at most **two** sessions:
the session that lost its host and the session where the owed turn is paid back. If the
blacked-out region was not that session's host in the plan without blackouts, nothing changes.
Two is also the least any planner can do when every region must keep its count. The proof is
case by case: the new conflict starts a run of its own, or lengthens a run at its front or its
back, or joins two runs. In each case exactly the new conflict and the run's pay-back session
change, see ``tests/rotation/test_planner.py``. Under the same conditions, adding a region at
the end of the rotation changes no session before the one just ahead of the new region's first
nominal turn. That one session can change, because a detour through it borrows the next
nominal host.

Cost: pass 1 is O(S log R) and pass 2 is O(S·R), with S sessions and R regions. Each blackout
adds O(log S) plus O(1) for every session day it covers. A detour looks at most ``2·R + 16``
sessions ahead or back before it gives up and leaves the balancing to pass 3. Pass 3 quits in
O(R) when the totals are already balanced. Otherwise it builds O(S·R) indexes and pays
O(R³ + R² log S) for each turn it moves.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

__all__ = [
    "POLICIES",
    "Blackout",
    "SessionSlot",
    "changed_turns",
    "plan_rotation",
    "turn_counts",
]

POLICIES = ("round_robin", "week_parity")


@dataclass(frozen=True)
class SessionSlot:
    """One non-cancelled session of a group, as the planner sees it."""

    key: int
    """Session id: hashable and unique within one ``plan_rotation`` call."""
    day: date
    """The session's local (Europe/Helsinki) date; blackouts are matched against it."""
    fixed_host: str | None = None
    """Region slug when the host may not change (past, locked or swapped session); None lets
    the planner decide."""


@dataclass(frozen=True)
class Blackout:
    """A region cannot host on any day from ``start`` to ``end``, both inclusive."""

    region: str
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(
                f"blackout of {self.region!r} ends ({self.end}) before it starts ({self.start})"
            )


def plan_rotation(
    sessions: Sequence[SessionSlot],
    regions: Sequence[str],
    *,
    blackouts: Iterable[Blackout] = (),
    policy: str = "round_robin",
    prior_turns: Mapping[str, int] | None = None,
) -> dict[int, str | None]:
    """Choose a host region for every session.

    ``sessions`` are the group's non-cancelled sessions in any order. Cancelled sessions and
    holidays are simply absent, so they use up no turn. ``regions`` is the rotation order.
    ``prior_turns`` are turns each region already had, for example in earlier terms. They count
    towards balance under ``round_robin``; ``week_parity`` ignores them. Blackouts and prior
    turns of regions outside ``regions`` are ignored.

    Returns ``{key: host}`` for every session in chronological order ``(day, key)``. Fixed
    sessions keep their ``fixed_host``, even a region no longer in the rotation. Open sessions
    get a region that is not blacked out that day, or None when every region is blacked out,
    and such a session uses up no turn.

    Raises ValueError for empty or duplicate ``regions``, an unknown ``policy`` or duplicate
    session keys.
    """
    index = _region_index(regions)
    if policy not in POLICIES:
        raise ValueError(f"unknown rotation policy {policy!r}; expected one of {POLICIES}")
    # Sorting here makes the plan independent of the order the caller happened to load rows in.
    ordered = sorted(sessions, key=lambda slot: (slot.day, slot.key))
    keys = {slot.key for slot in ordered}
    if len(keys) != len(ordered):
        raise ValueError("session keys must be unique")
    blocked = _blocked_masks(ordered, blackouts, index)
    if policy == "week_parity":
        hosts = _plan_week_parity(ordered, len(regions), index, blocked)
    else:
        prior = [0] * len(regions)
        for slug, turns in (prior_turns or {}).items():
            if slug in index:
                prior[index[slug]] = int(turns)
        hosts = _plan_round_robin(ordered, len(regions), index, blocked, prior)
    plan: dict[int, str | None] = {}
    for slot, host in zip(ordered, hosts, strict=True):
        if slot.fixed_host is not None:
            plan[slot.key] = slot.fixed_host
        else:
            plan[slot.key] = None if host is None else regions[host]
    return plan


def changed_turns(
    old: Mapping[int, str | None], new: Mapping[int, str | None]
) -> dict[int, tuple[str | None, str | None]]:
    """``{key: (old host, new host)}`` for every key whose host differs, to preview a re-plan.

    A key missing on one side counts as having no host (None) there, so a session appearing
    with a host, or losing one, is reported. Keys come back sorted.
    """
    changes: dict[int, tuple[str | None, str | None]] = {}
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before != after:
            changes[key] = (before, after)
    return changes


def turn_counts(
    plan: Mapping[int, str | None],
    regions: Sequence[str],
    prior_turns: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Turns per region: ``prior_turns`` plus the sessions ``plan`` gives it.

    Every region in ``regions`` is present, in rotation order, even with zero turns. Hosts
    outside ``regions`` and sessions without a host are not counted.
    """
    prior = prior_turns or {}
    counts = {slug: int(prior.get(slug, 0)) for slug in regions}
    for host in plan.values():
        if host is not None and host in counts:
            counts[host] += 1
    return counts


# --- shared helpers --------------------------------------------------------------------------


def _region_index(regions: Sequence[str]) -> dict[str, int]:
    if isinstance(regions, str):
        # A bare slug would otherwise be read as a rotation of one-letter regions.
        raise ValueError("regions must be a sequence of region slugs, not a single string")
    if len(regions) == 0:
        raise ValueError("the rotation needs at least one region")
    index: dict[str, int] = {}
    for position, slug in enumerate(regions):
        if slug in index:
            raise ValueError(f"region {slug!r} appears twice in the rotation")
        index[slug] = position
    return index


def _blocked_masks(
    ordered: Sequence[SessionSlot], blackouts: Iterable[Blackout], index: Mapping[str, int]
) -> dict[date, int]:
    """Bit r set in ``masks[day]`` when region number r is blacked out on that session day.

    Only session days are looked at, so a blackout costs O(log D + the session days it
    covers) however long it is.
    """
    days = sorted({slot.day for slot in ordered})
    masks: dict[date, int] = {}
    for blackout in blackouts:
        region = index.get(blackout.region)
        if region is None:
            continue
        bit = 1 << region
        for day in days[bisect_left(days, blackout.start) : bisect_right(days, blackout.end)]:
            masks[day] = masks.get(day, 0) | bit
    return masks


def _bits(mask: int) -> list[int]:
    """Positions of the set bits, lowest (earliest in the rotation) first."""
    found = []
    while mask:
        low = mask & -mask
        found.append(low.bit_length() - 1)
        mask ^= low
    return found


# --- week_parity -----------------------------------------------------------------------------


def _plan_week_parity(
    ordered: Sequence[SessionSlot],
    region_count: int,
    index: Mapping[str, int],
    blocked: Mapping[date, int],
) -> list[int | None]:
    """Host = regions[ISO week % N]; if blacked out, the next available region in order.

    The week decides, not the count of sessions, so hosts stay put when sessions are added or
    cancelled ("Varha hosts the odd weeks"). ISO week numbers restart at 1 after week 52 or 53,
    so across a new year two consecutive weeks can share a parity.
    """
    hosts: list[int | None] = []
    for slot in ordered:
        if slot.fixed_host is not None:
            hosts.append(index.get(slot.fixed_host))
            continue
        week = slot.day.isocalendar().week
        mask = blocked.get(slot.day, 0)
        host = None
        for step in range(region_count):
            candidate = (week + step) % region_count
            if not (mask >> candidate) & 1:
                host = candidate
                break
        hosts.append(host)
    return hosts


# --- round_robin -----------------------------------------------------------------------------


def _plan_round_robin(
    ordered: Sequence[SessionSlot],
    region_count: int,
    index: Mapping[str, int],
    blocked: Mapping[date, int],
    prior: list[int],
) -> list[int | None]:
    full = (1 << region_count) - 1
    hosts: list[int | None] = [None] * len(ordered)
    open_at: list[int] = []  # positions in ``ordered`` of open sessions someone can host
    avail: list[int] = []  # bit mask of the regions free on that session's day
    loads = list(prior)
    for position, slot in enumerate(ordered):
        if slot.fixed_host is not None:
            fixed = index.get(slot.fixed_host)
            hosts[position] = fixed
            if fixed is not None:
                loads[fixed] += 1
            continue
        free = full & ~blocked.get(slot.day, 0)
        if free:
            open_at.append(position)
            avail.append(free)
    nominal = _nominal_rotation(ordered, region_count, index, blocked, prior)
    # Pass 1 ends with the nominal plan as balanced as it can be without blackouts.
    for host in nominal:
        loads[host] += 1
    _rebalance(nominal, [full] * len(nominal), loads, region_count)
    # Pass 2: detours around blackouts, starting from the nominal rotation.
    planned = list(nominal)
    _detour_conflicts(nominal, avail, planned, loads, region_count)
    # Pass 3: only does work when a detour had to give up a turn.
    _rebalance(planned, avail, loads, region_count)
    for position, host in zip(open_at, planned, strict=True):
        hosts[position] = host
    return hosts


def _nominal_rotation(
    ordered: Sequence[SessionSlot],
    region_count: int,
    index: Mapping[str, int],
    blocked: Mapping[date, int],
    prior: list[int],
) -> list[int]:
    """Pass 1 without the balancing: the greedy rotation that ignores blackouts.

    Returns one region number per open session that someone can host. Every pick is the
    region with the fewest turns so far, ties broken by rotation position. The key (turns,
    position) is also "when is this region's next turn due", so a region that had no turn yet
    always goes before one that had.
    """
    full = (1 << region_count) - 1
    counts = list(prior)
    # Lazy heap: a region's entry is current only while its count matches.
    heap = [(counts[r], r) for r in range(region_count)]
    heapq.heapify(heap)
    nominal: list[int] = []
    for slot in ordered:
        if slot.fixed_host is not None:
            fixed = index.get(slot.fixed_host)
            if fixed is not None:
                counts[fixed] += 1
                heapq.heappush(heap, (counts[fixed], fixed))
            continue
        if blocked.get(slot.day, 0) == full:
            continue  # nobody can host: the session takes no turn
        while heap[0][0] != counts[heap[0][1]]:
            heapq.heappop(heap)
        region = heap[0][1]
        nominal.append(region)
        counts[region] += 1
        heapq.heapreplace(heap, (counts[region], region))
    return nominal


def _detour_conflicts(
    nominal: Sequence[int],
    avail: Sequence[int],
    planned: list[int],
    loads: list[int],
    region_count: int,
) -> None:
    """Pass 2: fix every session whose nominal host is blacked out. Changes ``planned``.

    Conflicts are handled in time order. Each one starts a chain with a hole (a session
    without a host) and an owed region (the nominal host that could not take it). At each
    step the hole is filled, in this order of preference:

    * with the nominal host of the next untouched session ``j``. If ``j`` is a conflict as
      well, ``j`` becomes the hole (its own host has just moved) and the chain goes on, so a
      run of conflicts shifts by one place. Otherwise the owed region takes ``j``: this is the
      usual swap, and the turn is paid back right after the run;
    * the same with a later session, at most ``window`` sessions ahead (the next one did not
      fit, for example because that region has several turns in a row);
    * with the owed region itself, when it can host the hole (only inside a run);
    * by swapping with an earlier session, at most ``window`` back, whose current host can
      take the hole while the owed region takes its session (end of term);
    * otherwise by the free region with the fewest turns. The owed region loses the turn and
      ``loads`` records it, for pass 3 to rebalance.

    Each step touches a new session and looks at no more than ``window`` others, so the pass
    is O(S·R). The preference order is what makes a new blackout change at most two
    sessions (module docstring): the chains of other conflicts never look at a session
    whose nominal host did not change.
    """
    count = len(nominal)
    conflict = [not (avail[i] >> nominal[i]) & 1 for i in range(count)]
    if not any(conflict):
        return
    window = 2 * region_count + 16
    # Union-find over "next untouched session at or after i"; count is the end sentinel.
    after = list(range(count + 1))

    def next_untouched(i: int) -> int:
        root = i
        while after[root] != root:
            root = after[root]
        while after[i] != root:
            after[i], i = root, after[i]
        return root

    def touch(i: int) -> None:
        after[i] = i + 1

    def untouched(i: int) -> bool:
        return after[i] == i

    for start in range(count):
        if not conflict[start] or not untouched(start):
            continue
        owed = nominal[start]
        hole = start
        touch(hole)
        while True:
            free_here = avail[hole]
            target = -1
            probe = hole
            for _ in range(window):
                probe = next_untouched(probe + 1)
                if probe >= count:
                    break
                if (free_here >> nominal[probe]) & 1 and (
                    conflict[probe] or (avail[probe] >> owed) & 1
                ):
                    target = probe
                    break
            if target >= 0:
                planned[hole] = nominal[target]
                touch(target)
                if conflict[target]:
                    hole = target
                    continue
                planned[target] = owed
                break
            if (free_here >> owed) & 1:
                planned[hole] = owed
                break
            if _swap_back(hole, owed, planned, avail, conflict, untouched, window):
                break
            substitute = min(_bits(free_here), key=lambda r: (loads[r], r))
            planned[hole] = substitute
            loads[owed] -= 1
            loads[substitute] += 1
            break


def _swap_back(
    hole: int,
    owed: int,
    planned: list[int],
    avail: Sequence[int],
    conflict: Sequence[bool],
    untouched: Callable[[int], bool],
    window: int,
) -> bool:
    """Pay the owed turn back before the hole: the end-of-term case, where nothing follows.

    Swaps with the earlier session's current host, which may itself be a detour, so the
    nearest session that fits is taken and the rest of the plan stays as it was.
    """
    free_here = avail[hole]
    for k in range(hole - 1, max(-1, hole - 1 - window), -1):
        if conflict[k] and untouched(k):
            continue  # still waiting for its own chain
        host = planned[k]
        if host != owed and (free_here >> host) & 1 and (avail[k] >> owed) & 1:
            planned[hole] = host
            planned[k] = owed
            return True
    return False


def _rebalance(
    planned: list[int], avail: Sequence[int], loads: list[int], region_count: int
) -> None:
    """Move turns until no chain of reassignments lowers the spread. Changes ``planned`` and
    ``loads``.

    A cost-reducing path goes from region u to region v with ``loads[v] <= loads[u] - 2``.
    Along it each region gives one of its open sessions to the next region, which must be free
    that day. Applying it moves exactly one turn from u to v. When no such path is left the
    totals are optimal (see the module docstring). We search from the busiest region, toward
    the least busy reachable region, over the fewest hops. Each hop takes the giver's latest
    session, so a rebalance changes the far end of the term rather than next week.
    """
    if not planned or max(loads) - min(loads) <= 1:
        return
    r_count = region_count
    # can_take[u][w]: open sessions hosted by u that w could host; heaps[u][w] holds them,
    # latest first. Entries go stale lazily, once the session has moved away from u.
    can_take = [[0] * r_count for _ in range(r_count)]
    heaps: list[list[list[int]]] = [[[] for _ in range(r_count)] for _ in range(r_count)]
    for position, host in enumerate(planned):
        for w in _bits(avail[position] & ~(1 << host)):
            can_take[host][w] += 1
            heaps[host][w].append(-position)
    for row in heaps:
        for heap in row:
            heapq.heapify(heap)
    reach = [0] * r_count  # bit w set when can_take[u][w] > 0
    for u in range(r_count):
        for w in range(r_count):
            if can_take[u][w]:
                reach[u] |= 1 << w

    def move(position: int, giver: int, taker: int) -> None:
        planned[position] = taker
        for w in _bits(avail[position]):
            if w != giver:
                can_take[giver][w] -= 1
                if not can_take[giver][w]:
                    reach[giver] &= ~(1 << w)
            if w != taker:
                can_take[taker][w] += 1
                reach[taker] |= 1 << w
                heapq.heappush(heaps[taker][w], -position)

    while True:
        lowest = min(loads)
        path = None
        for u in sorted(range(r_count), key=lambda r: (-loads[r], r)):
            if loads[u] - lowest < 2:
                break
            path = _cheapest_path(u, loads, reach)
            if path is not None:
                break
        if path is None:
            return
        for giver, taker in zip(path, path[1:], strict=False):
            heap = heaps[giver][taker]
            while planned[-heap[0]] != giver:
                heapq.heappop(heap)
            move(-heapq.heappop(heap), giver, taker)
        loads[path[0]] -= 1
        loads[path[-1]] += 1


def _cheapest_path(source: int, loads: Sequence[int], reach: Sequence[int]) -> list[int] | None:
    """Breadth-first from ``source``. Returns the region path to the reachable region with
    the fewest turns (at least two fewer than ``source``), ties broken by fewer hops and then
    by rotation order. Returns None when there is none."""
    parent = {source: source}
    frontier = [source]
    best: int | None = None
    best_key: tuple[int, int, int] | None = None
    depth = 0
    seen = 1 << source
    while frontier:
        depth += 1
        following = []
        for region in frontier:
            for w in _bits(reach[region] & ~seen):
                seen |= 1 << w
                parent[w] = region
                following.append(w)
                if loads[w] <= loads[source] - 2:
                    key = (loads[w], depth, w)
                    if best_key is None or key < best_key:
                        best, best_key = w, key
        frontier = following
    if best is None:
        return None
    path = [best]
    while path[-1] != source:
        path.append(parent[path[-1]])
    path.reverse()
    return path
