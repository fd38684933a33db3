"""The seat selection: pure functions, no app or database needed.

Worked examples pin the rules down on the pilot regions. Property tests check the guarantees
listed in ``remote_groups.applications.selection`` on random courses, and compare the exact
output with a slow seat-by-seat model of the rules.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remote_groups.applications.selection import (
    Candidate,
    Suggestion,
    next_offer,
    suggest_selection,
)

LU, SIUN, VARHA = PILOT = ("lansi-uusimaa", "siun-sote", "varha")
SLUGS = (*PILOT, "pirha")
OUTSIDE = "lappi"
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
ZONES = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=3)))
PROPERTY = settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def at(minutes: int, zone: timezone = UTC) -> datetime:
    return (START + timedelta(minutes=minutes)).astimezone(zone)


def applicants(region: str, first_key: int, *minutes: int) -> list[Candidate]:
    return [Candidate(first_key + i, region, at(m)) for i, m in enumerate(minutes)]


def queue_key(candidate: Candidate) -> tuple[datetime, int]:
    return (candidate.applied_at, candidate.key)


@dataclass(frozen=True)
class Course:
    regions: list[str]
    capacity: int
    candidates: list[Candidate]
    taken: dict[str, int] = field(default_factory=dict)

    @property
    def free(self) -> int:
        return max(0, self.capacity - sum(self.taken.values()))

    @property
    def quota(self) -> int:
        return self.capacity // len(self.regions)

    @property
    def eligible(self) -> list[Candidate]:
        return [c for c in self.candidates if c.region in self.regions]

    def by_key(self) -> dict[int, Candidate]:
        return {c.key: c for c in self.candidates}

    def suggest(self) -> Suggestion:
        return suggest_selection(self.candidates, self.regions, self.capacity, taken=self.taken)

    def held(self, suggestion: Suggestion) -> dict[str, int]:
        """Seats per participating region once the suggestion is confirmed."""
        return {r: self.taken.get(r, 0) + suggestion.seats_by_region[r] for r in self.regions}


def model_suggestion(course: Course) -> Suggestion:
    """The rules replayed one seat at a time, slowly and without a heap: the exact oracle."""
    waiting = sorted(course.eligible, key=queue_key)
    held = {region: course.taken.get(region, 0) for region in course.regions}
    accept: list[Candidate] = []
    while len(accept) < course.free:  # even split: least-held region under quota, then earliest
        owed = [c for c in waiting if held[c.region] < course.quota]
        if not owed:
            break
        chosen = min(owed, key=lambda c: (held[c.region], queue_key(c)))
        waiting.remove(chosen)
        accept.append(chosen)
        held[chosen.region] += 1
    while len(accept) < course.free and waiting:  # the rest by application time
        accept.append(waiting.pop(0))
    outsiders = sorted((c for c in course.candidates if c not in course.eligible), key=queue_key)
    return Suggestion(
        accept=tuple(c.key for c in accept),
        waitlist=tuple(c.key for c in waiting + outsiders),
        seats_by_region={r: sum(c.region == r for c in accept) for r in course.regions},
    )


# --- strategies --------------------------------------------------------------------------------


# Strategies are built once: building them inside a composite per example costs more than the
# tests themselves. Hypothesis's integers favour small values, but the interesting courses have
# several regions and many applicants, so sizes and counts are drawn evenly with ``pick``.
SPREAD = st.integers(0, 2**16 - 1)
SLUG_ORDERS = st.permutations(SLUGS)
CANDIDATE_ROWS = st.tuples(st.integers(1, 10_000), st.integers(0, 11), st.integers(0, 30))
CANDIDATE_LISTS = [
    st.lists(st.tuples(CANDIDATE_ROWS, st.sampled_from(ZONES)), min_size=n, max_size=n)
    for n in range(21)
]
MINUTES = st.lists(st.integers(0, 30), min_size=26, max_size=26)  # enough for any course


def pick(draw, low: int, high: int) -> int:
    """About evenly from ``low..high``; shrinks towards ``low``."""
    return low + draw(SPREAD) % (high - low + 1)


def home(regions: list[str], index: int) -> str:
    """Index 0-11: about one home in six is outside the course, the rest spread over it."""
    return regions[index % len(regions)] if index < 10 else OUTSIDE


def draw_candidates(draw, regions: list[str], size: int) -> list[Candidate]:
    """Candidates with unrelated keys, many equal application times and mixed UTC offsets."""
    rows = draw(CANDIDATE_LISTS[size])
    unique = {key: (i, m, zone) for (key, i, m), zone in rows}
    return [Candidate(key, home(regions, i), at(m, zone)) for key, (i, m, zone) in unique.items()]


def draw_counts(draw, regions: list[str], low: int, high: int) -> dict[str, int]:
    """Seat counts for a few regions, sometimes one outside the course."""
    return {
        home(regions, pick(draw, 0, 11)): pick(draw, low, high) for _ in range(pick(draw, 0, 4))
    }


@st.composite
def courses(draw, max_candidates=20):
    """Random courses: some applicants from outside, and seats already held (also outside)
    drawn around the quota, where the two passes meet."""
    regions = list(draw(SLUG_ORDERS)[: pick(draw, 1, len(SLUGS))])
    capacity = pick(draw, 1, 12)
    quota = capacity // len(regions)
    candidates = draw_candidates(draw, regions, pick(draw, 0, max_candidates))
    taken = {r: max(0, quota + delta) for r, delta in draw_counts(draw, regions, -3, 2).items()}
    return Course(regions, capacity, candidates, taken)


@st.composite
def scarce_courses(draw):
    """Seats held outside the regions leave fewer free seats than the regions' open quotas, so
    the even split has to share a shortage."""
    regions = list(draw(SLUG_ORDERS)[: pick(draw, 2, len(SLUGS))])
    capacity = pick(draw, 2 * len(regions), 12)
    quota = capacity // len(regions)
    candidates = draw_candidates(draw, regions, pick(draw, 8, 20))
    taken = {region: pick(draw, 0, quota) for region in regions}
    taken[OUTSIDE] = pick(draw, 1, capacity // 2)
    return Course(regions, capacity, candidates, taken)


@st.composite
def courses_with_a_region_at_its_quota(draw):
    """The first region already holds its quota, or one more; the others hold at most theirs,
    so seats are often left for the time order to hand out."""
    regions = list(draw(SLUG_ORDERS)[: pick(draw, 2, len(SLUGS))])
    capacity = pick(draw, len(regions), 12)
    quota = capacity // len(regions)
    candidates = draw_candidates(draw, regions, pick(draw, 4, 20))
    taken = {region: pick(draw, 0, quota) for region in regions[1:]}
    taken[regions[0]] = quota + pick(draw, 0, 1)
    return Course(regions, capacity, candidates, taken)


# Plain random courses, plus the two corners they seldom reach.
ANY_COURSE = st.one_of(courses(), scarce_courses(), courses_with_a_region_at_its_quota())


@st.composite
def well_applied_courses(draw):
    """Nothing taken yet and every region has at least its quota of applicants (plus 0-3)."""
    regions = list(draw(SLUG_ORDERS)[: pick(draw, 1, len(SLUGS))])
    capacity = pick(draw, 1, 12)
    quota = capacity // len(regions)
    homes = [r for r in regions for _ in range(quota + pick(draw, 0, 3))]
    homes += [OUTSIDE] * pick(draw, 0, 2)
    # Keys scrambled so that they say nothing about the application order.
    candidates = [
        Candidate(i * 37 % 101 + 1, region, at(m))
        for i, (region, m) in enumerate(zip(homes, draw(MINUTES), strict=False))
    ]
    return Course(regions, capacity, candidates)


# --- worked examples ---------------------------------------------------------------------------


def test_even_split_gives_the_leftover_seat_to_the_earliest_remaining_applicant() -> None:
    candidates = [
        *applicants(LU, 1, 0, 10, 20, 30, 40),
        *applicants(SIUN, 11, 1, 11, 21, 25, 41),
        *applicants(VARHA, 21, 2, 12, 22, 32, 42),
    ]
    suggestion = suggest_selection(candidates, PILOT, 10)
    # 3 each by quota; of the rest, siun-sote's 4th applicant (minute 25) applied first.
    assert suggestion.seats_by_region == {LU: 3, SIUN: 4, VARHA: 3}
    assert set(suggestion.accept) == {1, 2, 3, 11, 12, 13, 21, 22, 23, 14}
    assert suggestion.accept[-1] == 14
    assert suggestion.waitlist == (4, 24, 5, 15, 25)


def test_region_with_one_applicant_passes_its_unused_seats_to_the_earliest_others() -> None:
    candidates = [
        *applicants(LU, 1, 0, 10, 20, 30, 40),
        *applicants(SIUN, 11, 1, 11, 21, 22, 41),
        *applicants(VARHA, 21, 5),
    ]
    suggestion = suggest_selection(candidates, PILOT, 9)
    # varha's quota is 3 but it has one applicant: its 2 other seats go to the earliest of the
    # rest, siun-sote's minute 22 and lansi-uusimaa's minute 30.
    assert suggestion.seats_by_region == {LU: 4, SIUN: 4, VARHA: 1}
    assert suggestion.accept[-2:] == (14, 4)
    assert suggestion.waitlist == (5, 15)


def test_everyone_is_accepted_when_there_are_fewer_applicants_than_seats() -> None:
    candidates = [*applicants(LU, 1, 0, 3, 4), *applicants(VARHA, 21, 2)]
    suggestion = suggest_selection(candidates, PILOT, 10)
    assert sorted(suggestion.accept) == [1, 2, 3, 21]
    assert suggestion.waitlist == ()
    assert suggestion.seats_by_region == {LU: 3, SIUN: 0, VARHA: 1}


def test_seats_already_taken_count_against_the_capacity_and_the_quota() -> None:
    candidates = [
        *applicants(LU, 1, 0, 1, 2, 3, 4),
        *applicants(SIUN, 11, 10, 11, 12, 13, 14),
        *applicants(VARHA, 21, 20, 21, 22, 23, 24),
    ]
    # Half full: 5 free seats. Quota 3: lansi-uusimaa has it, siun-sote needs 1, varha 3; the
    # leftover seat goes by time to lansi-uusimaa.
    suggestion = suggest_selection(candidates, PILOT, 10, taken={LU: 3, SIUN: 2})
    assert suggestion.seats_by_region == {LU: 1, SIUN: 1, VARHA: 3}
    assert set(suggestion.accept) == {1, 11, 21, 22, 23}


def test_region_already_at_its_quota_gets_no_seat_ahead_of_earlier_applicants() -> None:
    candidates = [
        *applicants(LU, 1, 5, 6, 7),
        *applicants(SIUN, 11, 0, 1, 2),
        *applicants(VARHA, 21, 20, 21, 22, 23),
    ]
    # Same course, but siun-sote's applicants came first: its second one (minute 1) takes the
    # leftover seat and lansi-uusimaa, already at its quota, gets nothing.
    suggestion = suggest_selection(candidates, PILOT, 10, taken={LU: 3, SIUN: 2})
    assert suggestion.seats_by_region == {LU: 0, SIUN: 2, VARHA: 3}
    assert suggestion.accept == (21, 22, 11, 23, 12)


def test_a_full_course_accepts_no_one() -> None:
    candidates = applicants(LU, 1, 0, 1)
    suggestion = suggest_selection(candidates, PILOT, 4, taken={SIUN: 3, OUTSIDE: 2})
    assert suggestion.accept == ()
    assert suggestion.waitlist == (1, 2)
    assert suggestion.seats_by_region == {LU: 0, SIUN: 0, VARHA: 0}


def test_scarce_quota_seats_go_to_the_least_seated_region_first() -> None:
    # lansi-uusimaa was over-accepted earlier: 4 free seats for 6 quota seats still owed.
    candidates = [*applicants(SIUN, 11, 0, 1, 2), *applicants(VARHA, 21, 10, 11, 12)]
    suggestion = suggest_selection(candidates, PILOT, 9, taken={LU: 5})
    assert suggestion.seats_by_region == {LU: 0, SIUN: 2, VARHA: 2}
    assert suggestion.accept == (11, 21, 12, 22)


def test_applicants_from_outside_the_course_wait_last_even_when_seats_are_free() -> None:
    candidates = [Candidate(99, OUTSIDE, at(-60)), *applicants(LU, 1, 0, 1)]
    suggestion = suggest_selection(candidates, PILOT, 2)
    assert suggestion.accept == (1, 2)
    assert suggestion.waitlist == (99,)


# --- suggest_selection properties --------------------------------------------------------------


@PROPERTY
@given(ANY_COURSE)
def test_never_accepts_more_than_the_free_seats(course: Course) -> None:
    assert len(course.suggest().accept) <= course.free


@PROPERTY
@given(ANY_COURSE)
def test_accept_and_waitlist_partition_the_candidates(course: Course) -> None:
    suggestion = course.suggest()
    keys = [*suggestion.accept, *suggestion.waitlist]
    assert len(keys) == len(set(keys))
    assert set(keys) == {c.key for c in course.candidates}
    assert {course.by_key()[k].region for k in suggestion.accept} <= set(course.regions)


@PROPERTY
@given(ANY_COURSE)
def test_fills_every_free_seat_it_has_an_eligible_applicant_for(course: Course) -> None:
    assert len(course.suggest().accept) == min(course.free, len(course.eligible))


@PROPERTY
@given(ANY_COURSE)
def test_seats_by_region_counts_the_accepted_per_region(course: Course) -> None:
    suggestion = course.suggest()
    counted = Counter(course.by_key()[k].region for k in suggestion.accept)
    assert suggestion.seats_by_region == {r: counted[r] for r in course.regions}


@PROPERTY
@given(ANY_COURSE)
def test_region_with_applicants_waiting_reaches_its_quota_or_is_levelled(course: Course) -> None:
    suggestion = course.suggest()
    held = course.held(suggestion)
    waiting = {course.by_key()[k].region for k in suggestion.waitlist}
    for region in set(course.regions) & waiting:
        if held[region] >= course.quota:
            continue
        # Short of quota with someone waiting: only when the seats ran out, and then no region
        # that got a seat ends more than one seat above it.
        assert len(suggestion.accept) == course.free
        for other, seats in suggestion.seats_by_region.items():
            if seats:
                assert held[other] <= held[region] + 1


@PROPERTY
@given(well_applied_courses())
def test_with_enough_applicants_each_region_gets_its_quota_plus_at_most_the_leftover(
    course: Course,
) -> None:
    leftover = course.capacity % len(course.regions)
    for seats in course.suggest().seats_by_region.values():
        assert course.quota <= seats <= course.quota + leftover


@PROPERTY
@given(ANY_COURSE)
def test_no_one_waits_while_a_later_applicant_of_the_same_region_is_accepted(
    course: Course,
) -> None:
    suggestion = course.suggest()
    by_key = course.by_key()
    for accepted in map(by_key.get, suggestion.accept):
        for waiting in map(by_key.get, suggestion.waitlist):
            if waiting.region == accepted.region:
                assert queue_key(accepted) < queue_key(waiting)


@PROPERTY
@given(ANY_COURSE)
def test_a_later_applicant_of_another_region_goes_first_only_on_a_quota_seat(
    course: Course,
) -> None:
    suggestion = course.suggest()
    by_key = course.by_key()
    rank = {}
    for region in course.regions:
        own = sorted((c for c in course.candidates if c.region == region), key=queue_key)
        rank.update({c.key: i for i, c in enumerate(own)})
    first_waiting = min(
        (by_key[k] for k in suggestion.waitlist if by_key[k].region in course.regions),
        key=queue_key,
        default=None,
    )
    if first_waiting is None:
        return
    for accepted in map(by_key.get, suggestion.accept):
        if queue_key(accepted) > queue_key(first_waiting):
            assert rank[accepted.key] < course.quota - course.taken.get(accepted.region, 0)


@PROPERTY
@given(ANY_COURSE)
def test_matches_a_seat_by_seat_model_of_the_rules(course: Course) -> None:
    assert course.suggest() == model_suggestion(course)


@PROPERTY
@given(ANY_COURSE)
def test_waitlist_is_in_application_order_with_outsiders_last(course: Course) -> None:
    waiting = [course.by_key()[k] for k in course.suggest().waitlist]
    inside = [c for c in waiting if c.region in course.regions]
    outside = [c for c in waiting if c.region not in course.regions]
    assert waiting == sorted(inside, key=queue_key) + sorted(outside, key=queue_key)


@PROPERTY
@given(ANY_COURSE, st.randoms(use_true_random=False))
def test_order_of_candidates_and_regions_does_not_change_the_suggestion(
    course: Course, rng: random.Random
) -> None:
    candidates, regions = list(course.candidates), list(course.regions)
    rng.shuffle(candidates)
    rng.shuffle(regions)
    shuffled = suggest_selection(candidates, regions, course.capacity, taken=course.taken)
    assert shuffled == course.suggest()


# --- next_offer --------------------------------------------------------------------------------


def test_next_offer_prefers_the_least_seated_region() -> None:
    waitlist = [*applicants(LU, 1, 0), *applicants(SIUN, 11, 5), *applicants(VARHA, 21, 9)]
    chosen = next_offer(waitlist, PILOT, {LU: 3, SIUN: 3, VARHA: 2})
    assert chosen is not None and chosen.key == 21


def test_next_offer_ignores_regions_with_no_one_waiting() -> None:
    waitlist = [*applicants(LU, 1, 9), *applicants(SIUN, 11, 0)]
    # varha has the fewest seats but no one waiting; lansi-uusimaa is next least seated.
    chosen = next_offer(waitlist, PILOT, {LU: 2, SIUN: 3})
    assert chosen is not None and chosen.key == 1


def test_next_offer_takes_the_earliest_applicant_among_equally_seated_regions() -> None:
    waitlist = [*applicants(LU, 1, 7, 3), *applicants(SIUN, 11, 5), *applicants(VARHA, 21, 1)]
    chosen = next_offer(waitlist, PILOT, {LU: 2, SIUN: 2, VARHA: 3})
    assert chosen is not None and chosen.key == 2


def test_next_offer_breaks_equal_application_times_by_key() -> None:
    waitlist = [Candidate(7, LU, at(0)), Candidate(3, LU, at(0, ZONES[1]))]
    chosen = next_offer(waitlist, PILOT, {})
    assert chosen is not None and chosen.key == 3


def test_next_offer_is_none_for_an_empty_waitlist() -> None:
    assert next_offer([], PILOT, {LU: 1}) is None


def test_next_offer_reaches_outsiders_only_when_no_participant_waits() -> None:
    outsider = Candidate(99, OUTSIDE, at(-60))
    chosen = next_offer([outsider, *applicants(LU, 1, 0)], PILOT, {LU: 5})
    assert chosen is not None and chosen.key == 1
    assert next_offer([outsider], PILOT, {}) == outsider


@st.composite
def waitlists(draw):
    course = draw(courses(max_candidates=12))
    return course.regions, course.candidates, draw_counts(draw, course.regions, 0, 5)


@PROPERTY
@given(waitlists())
def test_next_offer_is_the_earliest_of_the_least_seated_waiting_regions(case) -> None:
    regions, waiting, seated = case
    chosen = next_offer(waiting, regions, seated)
    if not waiting:
        assert chosen is None
        return
    pool = [c for c in waiting if c.region in regions]
    if pool:
        fewest = min(seated.get(c.region, 0) for c in pool)
        pool = [c for c in pool if seated.get(c.region, 0) == fewest]
    else:
        pool = waiting
    assert chosen == min(pool, key=queue_key)


@PROPERTY
@given(waitlists(), st.randoms(use_true_random=False))
def test_next_offer_does_not_depend_on_the_order_of_its_input(case, rng: random.Random) -> None:
    regions, waiting, seated = case
    shuffled_waiting, shuffled_regions = list(waiting), list(regions)
    rng.shuffle(shuffled_waiting)
    rng.shuffle(shuffled_regions)
    assert next_offer(shuffled_waiting, shuffled_regions, seated) == next_offer(
        waiting, regions, seated
    )


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("capacity", [0, -3])
def test_capacity_below_one_is_rejected(capacity: int) -> None:
    with pytest.raises(ValueError, match="Capacity"):
        suggest_selection(applicants(LU, 1, 0), PILOT, capacity)


@pytest.mark.parametrize("regions", [[], [LU, SIUN, LU]])
def test_empty_or_repeated_regions_are_rejected(regions: list[str]) -> None:
    with pytest.raises(ValueError, match="region"):
        suggest_selection(applicants(LU, 1, 0), regions, 3)
    with pytest.raises(ValueError, match="region"):
        next_offer(applicants(LU, 1, 0), regions, {})


def test_duplicate_candidate_keys_are_rejected() -> None:
    twice = [Candidate(1, LU, at(0)), Candidate(1, SIUN, at(5))]
    with pytest.raises(ValueError, match="twice"):
        suggest_selection(twice, PILOT, 3)
    with pytest.raises(ValueError, match="twice"):
        next_offer(twice, PILOT, {})


def test_naive_application_times_are_rejected() -> None:
    naive = [Candidate(1, LU, datetime(2025, 1, 6, 9, 0))]
    with pytest.raises(ValueError, match="naive"):
        suggest_selection(naive, PILOT, 3)
    with pytest.raises(ValueError, match="naive"):
        next_offer(naive, PILOT, {})


def test_negative_seat_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        suggest_selection(applicants(LU, 1, 0), PILOT, 3, taken={LU: -1})
    with pytest.raises(ValueError, match="negative"):
        next_offer(applicants(LU, 1, 0), PILOT, {SIUN: -1})
