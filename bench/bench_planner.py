"""Rotation planner timing: 22 regions, 200 groups of 52 weekly sessions, and long calls.

The 200 groups are planned one call per group, as the app does. Each group has three
blackouts of 1 to 10 days and its first four sessions fixed, because they are already past.
The long single calls (10,400, 20,800 and 41,600 sessions with the same density of
blackouts) show that the time per session does not grow with the number of sessions.
Timings are the best of five runs with time.perf_counter, in one process, with the garbage
collector paused during each run as timeit does.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable
from datetime import date, timedelta

from remote_groups.rotation.planner import Blackout, SessionSlot, plan_rotation

REGIONS = [f"region-{i:02d}" for i in range(22)]
GROUPS = 200
WEEKS = 52
SINGLE = GROUPS * WEEKS  # 10,400 sessions
REPEATS = 5
FIRST_MONDAY = date(2025, 1, 6)


def make_group(seed: int, weeks: int) -> tuple[list[SessionSlot], list[Blackout]]:
    """Weekly sessions, the first four fixed (past), three blackouts per 52 sessions."""
    rnd = random.Random(seed)
    days = [FIRST_MONDAY + timedelta(weeks=w) for w in range(weeks)]
    slots = [
        SessionSlot(seed * 1_000_000 + w, day, REGIONS[w % len(REGIONS)] if w < 4 else None)
        for w, day in enumerate(days)
    ]
    blackouts = []
    for _ in range(max(1, 3 * weeks // WEEKS)):
        start = rnd.choice(days) - timedelta(days=rnd.randint(0, 3))
        blackouts.append(
            Blackout(rnd.choice(REGIONS), start, start + timedelta(days=rnd.randint(0, 9)))
        )
    return slots, blackouts


def best_of(action: Callable[[], object], repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            started = time.perf_counter()
            action()
            best = min(best, time.perf_counter() - started)
        finally:
            if was_enabled:
                gc.enable()
    return best


def run() -> list[dict]:
    groups = [make_group(seed, WEEKS) for seed in range(GROUPS)]

    def plan_all_groups() -> None:
        for slots, blackouts in groups:
            plan_rotation(slots, REGIONS, blackouts=blackouts)

    rows = [
        {
            "figure": f"{GROUPS} groups × {WEEKS} sessions, {len(REGIONS)} regions, "
            f"one call per group ({GROUPS * WEEKS:,} sessions)",
            "value": (total := best_of(plan_all_groups)),
            "unit": "s",
            "target": "< 1.0 s",
            "ok": total < 1.0,
        }
    ]
    single: dict[int, float] = {}
    for factor in (1, 2, 4):
        slots, blackouts = make_group(10_000 + factor, SINGLE * factor)
        single[factor] = best_of(
            lambda s=slots, b=blackouts: plan_rotation(s, REGIONS, blackouts=b)
        )
        rows.append(
            {
                "figure": f"one call with {SINGLE * factor:,} sessions, {len(REGIONS)} regions",
                "value": single[factor],
                "unit": "s",
                "target": "",
                "ok": None,
            }
        )
    ratio = (single[4] / (4 * SINGLE)) / (single[1] / SINGLE)
    rows.append(
        {
            "figure": f"time per session, {4 * SINGLE:,} vs {SINGLE:,} sessions in one call",
            "value": ratio,
            "unit": "×",
            "target": "≤ 1.5 (linear)",
            "ok": ratio <= 1.5,
        }
    )
    return rows
