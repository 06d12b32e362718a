"""The pure availability engine: windows, daylight saving, busy time, grid, rooms, groups, round robin."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from frontdesk.domain.availability import (
    Channel,
    DayHours,
    SlotSearch,
    WeeklyHours,
    find_slots,
    working_windows,
)
from frontdesk.domain.busy import Busy
from frontdesk.domain.intervals import Interval

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
CHICAGO = ZoneInfo("America/Chicago")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
UTCZ = ZoneInfo("UTC")
EVERY_DAY = frozenset(range(7))
WEEKDAYS = frozenset(range(5))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def hm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def hours(start: str, end: str, days=EVERY_DAY, **kw) -> WeeklyHours:
    return WeeklyHours(frozenset(days), hm(start), hm(end), **kw)


def channel(*weekly, clinician="cli_a", location="loc_a", tz=UTCZ, overrides=()) -> Channel:
    return Channel(clinician, location, tz, tuple(weekly), tuple(overrides))


def search(channels, start, end, **kw) -> SlotSearch:
    kw.setdefault("now", utc(2000, 1, 1))
    kw.setdefault("duration_minutes", 30)
    kw.setdefault("interval_minutes", kw["duration_minutes"])
    kw.setdefault("busy", {})
    kw.setdefault("appointment_type_id", "type_x")
    return SlotSearch(start=start, end=end, channels=tuple(channels), **kw)


def times(offers, tz=UTC):
    return [o.start.astimezone(tz).strftime("%m-%d %H:%M") for o in offers]


def block(start: datetime, end: datetime) -> Busy:
    return Busy(Interval(start, end), "block")


def booking(start, end, type_id="type_x", ref="apt", padded=None, source="appointment") -> Busy:
    return Busy(padded or Interval(start, end), source, type_id, start, ref)


# --- the grid ----------------------------------------------------------------------------


def test_interval_spaces_starts_without_changing_the_duration():
    offers = find_slots(search([channel(hours("09:00", "12:00"))], utc(2025, 1, 20), utc(2025, 1, 20, 23, 59, 59),
                               duration_minutes=30, interval_minutes=60))
    assert times(offers) == ["01-20 09:00", "01-20 10:00", "01-20 11:00"]
    assert all((o.end - o.start).total_seconds() == 1800 for o in offers)


def test_appointment_must_fit_in_the_window():
    offers = find_slots(search([channel(hours("09:00", "10:40"))], utc(2025, 1, 20), utc(2025, 1, 21),
                               duration_minutes=30, interval_minutes=20))
    assert times(offers) == ["01-20 09:00", "01-20 09:20", "01-20 09:40", "01-20 10:00"]


def test_range_edges_are_inclusive_on_the_start():
    ch = channel(hours("09:00", "12:00"))
    offers = find_slots(search([ch], utc(2025, 1, 20, 9, 30), utc(2025, 1, 20, 11)))
    assert times(offers) == ["01-20 09:30", "01-20 10:00", "01-20 10:30", "01-20 11:00"]
    # A range starting off the grid keeps the grid of the window.
    offers = find_slots(search([ch], utc(2025, 1, 20, 9, 10), utc(2025, 1, 20, 10)))
    assert times(offers) == ["01-20 09:30", "01-20 10:00"]


def test_minimum_notice_against_the_clock():
    ch = channel(hours("09:00", "12:00"))
    offers = find_slots(search([ch], utc(2025, 1, 20), utc(2025, 1, 20, 23), now=utc(2025, 1, 20, 8, 10),
                               min_notice_minutes=120))
    assert times(offers) == ["01-20 10:30", "01-20 11:00", "01-20 11:30"]


# --- working windows -----------------------------------------------------------------------


def test_hours_across_midnight_join_and_slots_run_through_it():
    ch = channel(hours("22:00", "24:00", days={0}), hours("00:00", "02:00", days={1}))
    windows = working_windows(ch, utc(2025, 1, 20), utc(2025, 1, 21, 23))
    assert windows == [Interval(utc(2025, 1, 20, 22), utc(2025, 1, 21, 2))]
    offers = find_slots(search([ch], utc(2025, 1, 20), utc(2025, 1, 21, 23), duration_minutes=60, interval_minutes=45))
    assert times(offers) == ["01-20 22:00", "01-20 22:45", "01-20 23:30", "01-21 00:15", "01-21 01:00"]


def test_hours_to_midnight_end_at_24_00():
    offers = find_slots(search([channel(hours("22:00", "24:00", days={0}))], utc(2025, 1, 20), utc(2025, 1, 21, 23),
                               duration_minutes=60))
    assert times(offers) == ["01-20 22:00", "01-20 23:00"]


def test_touching_rules_merge_into_one_window_for_the_grid():
    ch = channel(hours("09:00", "10:00"), hours("10:00", "11:00"))
    offers = find_slots(search([ch], utc(2025, 1, 20), utc(2025, 1, 20, 23), duration_minutes=40, interval_minutes=40))
    assert times(offers) == ["01-20 09:00", "01-20 09:40", "01-20 10:20"]  # 09:40-10:20 crosses the join


def test_valid_from_and_until_are_inclusive_dates():
    ch = channel(hours("09:00", "10:00", valid_from=date(2025, 1, 21), valid_until=date(2025, 1, 22)))
    offers = find_slots(search([ch], utc(2025, 1, 20), utc(2025, 1, 23, 23), duration_minutes=60))
    assert times(offers) == ["01-21 09:00", "01-22 09:00"]


def test_overrides_replace_close_and_add():
    ch = channel(
        hours("09:00", "12:00", days=WEEKDAYS),
        overrides=[
            DayHours(date(2025, 1, 21), hm("14:00"), hm("15:00")),  # replaces Tuesday's hours
            DayHours(date(2025, 1, 21), hm("16:00"), hm("17:00")),  # a split day
            DayHours(date(2025, 1, 22), None, None),  # closes Wednesday
            DayHours(date(2025, 1, 25), hm("10:00"), hm("11:00")),  # an extra Saturday
        ],
    )
    offers = find_slots(search([ch], utc(2025, 1, 20), utc(2025, 1, 26, 23), duration_minutes=60))
    assert times(offers) == [
        "01-20 09:00", "01-20 10:00", "01-20 11:00",
        "01-21 14:00", "01-21 16:00",
        "01-23 09:00", "01-23 10:00", "01-23 11:00",
        "01-24 09:00", "01-24 10:00", "01-24 11:00",
        "01-25 10:00",
    ]


def test_overrides_of_one_channel_leave_the_other_alone():
    in_person = channel(hours("09:00", "10:00"), overrides=[DayHours(date(2025, 1, 20), None, None)])
    remote = channel(hours("09:00", "10:00"), location=None)
    offers = find_slots(search([in_person, remote], utc(2025, 1, 20), utc(2025, 1, 20, 23), duration_minutes=60))
    assert [(o.location_id, o.is_remote) for o in offers] == [(None, True)]


def test_opening_hours_cut_in_person_hours_only():
    in_person = channel(hours("07:00", "19:00"), tz=LONDON)
    remote = channel(hours("07:00", "08:00"), location=None, tz=LONDON)
    s = search([in_person, remote], utc(2025, 1, 20), utc(2025, 1, 20, 23), duration_minutes=60,
               opening_hours={"loc_a": (hours("08:00", "10:00", days={0}),)}, location_zones={"loc_a": LONDON})
    assert [(t, o.is_remote) for t, o in zip(times(find_slots(s)), find_slots(s))] == [
        ("01-20 07:00", True), ("01-20 08:00", False), ("01-20 09:00", False)
    ]
    # No opening hours on a weekday means the site is closed that day.
    tuesday = replace(s, start=utc(2025, 1, 21), end=utc(2025, 1, 21, 23))
    assert all(o.is_remote for o in find_slots(tuesday))


# --- a clinician in another zone than the location (booking.md, Time) --------------------
# The service reads a clinician's in-person hours in the clinician's own zone when one is set
# (in_person_hours_zone): the channel's zone. Opening hours stay in the location's zone.


def test_a_chicago_clinician_gets_only_the_hours_shared_with_each_site():
    # The availability guide's clinician in America/Chicago serving New York and Los Angeles:
    # 09:00-17:00 Chicago is 10:00-18:00 in New York and 07:00-15:00 in Los Angeles.
    opening = {"loc_ny": (hours("08:00", "18:00"),), "loc_la": (hours("08:00", "18:00"),)}
    zones = {"loc_ny": NEW_YORK, "loc_la": LOS_ANGELES}
    ny = channel(hours("09:00", "17:00"), location="loc_ny", tz=CHICAGO)
    la = channel(hours("09:00", "17:00"), location="loc_la", tz=CHICAGO)
    s = search([ny, la], utc(2025, 1, 20), utc(2025, 1, 20, 23, 59), duration_minutes=60,
               opening_hours=opening, location_zones=zones)
    offers = find_slots(s)
    at_ny = [o for o in offers if o.location_id == "loc_ny"]
    at_la = [o for o in offers if o.location_id == "loc_la"]
    assert times(at_ny, NEW_YORK) == [f"01-20 {h:02d}:00" for h in range(10, 18)]  # 10:00-18:00 New York
    assert times(at_la, LOS_ANGELES) == [f"01-20 {h:02d}:00" for h in range(8, 15)]  # 08:00-15:00 LA
    # The same hours read in each site's own zone (no timezone of the clinician's) give all of 09:00-17:00.
    local = search([replace(ny, tz=NEW_YORK)], utc(2025, 1, 20), utc(2025, 1, 20, 23, 59), duration_minutes=60,
                   opening_hours=opening, location_zones=zones)
    assert times(find_slots(local), NEW_YORK)[0] == "01-20 09:00"


def test_shared_hours_follow_both_zones_across_daylight_saving_changes_on_different_dates():
    # Chicago moves its clocks on 9 March 2025, London on 30 March: for those three weeks
    # 09:00-17:00 Chicago is 14:00-22:00 in London, not 15:00-23:00.
    ch = channel(hours("09:00", "17:00", days=WEEKDAYS), location="loc_london", tz=CHICAGO)
    opening = {"loc_london": (hours("08:00", "18:00", days=WEEKDAYS),)}

    def london_hours(day):
        s = search([ch], utc(2025, 3, day), utc(2025, 3, day, 23, 59), duration_minutes=60,
                   opening_hours=opening, location_zones={"loc_london": LONDON})
        return times(find_slots(s), LONDON)

    assert london_hours(7) == ["03-07 15:00", "03-07 16:00", "03-07 17:00"]  # both on winter time
    assert london_hours(10) == ["03-10 14:00", "03-10 15:00", "03-10 16:00", "03-10 17:00"]  # Chicago moved
    assert london_hours(28) == ["03-28 14:00", "03-28 15:00", "03-28 16:00", "03-28 17:00"]
    assert london_hours(31) == ["03-31 15:00", "03-31 16:00", "03-31 17:00"]  # London moved too


def test_overrides_of_a_clinician_in_another_zone_are_dates_and_times_in_the_clinicians_zone():
    # Friday 17 January in Chicago, 19:00-23:00, is Saturday 01:00-05:00 in London: the override
    # replaces Chicago's Friday hours, wherever that Friday falls in London.
    ch = channel(hours("09:00", "10:00", days=WEEKDAYS), location="loc_london", tz=CHICAGO,
                 overrides=[DayHours(date(2025, 1, 17), hm("19:00"), hm("23:00"))])
    s = search([ch], utc(2025, 1, 17), utc(2025, 1, 18, 23, 59), duration_minutes=60,
               location_zones={"loc_london": LONDON})
    assert times(find_slots(s), LONDON) == ["01-18 01:00", "01-18 02:00", "01-18 03:00", "01-18 04:00"]
    # Opening hours still cut it in London's own wall time: the site is shut at night.
    shut = replace(s, opening_hours={"loc_london": (hours("08:00", "18:00"),)})
    assert find_slots(shut) == []


# --- daylight saving ---------------------------------------------------------------------


def test_london_spring_forward_and_the_gap():
    # Sunday 30 March 2025: 01:00 GMT jumps to 02:00 BST.
    ch = channel(hours("00:00", "04:00"), tz=LONDON)
    windows = working_windows(ch, utc(2025, 3, 30), utc(2025, 3, 30, 12))
    assert Interval(utc(2025, 3, 30, 0), utc(2025, 3, 30, 3)) in windows  # three real hours
    offers = find_slots(search([ch], utc(2025, 3, 30), utc(2025, 3, 30, 12), duration_minutes=60))
    assert times(offers, LONDON) == ["03-30 00:00", "03-30 02:00", "03-30 03:00"]
    # Hours starting in the gap start when the gap ends: 01:30 becomes 02:30 BST.
    gap = channel(hours("01:30", "03:00"), tz=LONDON)
    offers = find_slots(search([gap], utc(2025, 3, 30), utc(2025, 3, 30, 12), duration_minutes=30))
    assert times(offers, LONDON) == ["03-30 02:30"]


def test_london_fall_back_and_the_repeated_hour():
    # Sunday 26 October 2025: 02:00 BST falls back to 01:00 GMT; 01:00-02:00 happens twice.
    ch = channel(hours("00:00", "03:00"), tz=LONDON)
    offers = find_slots(search([ch], utc(2025, 10, 25, 12), utc(2025, 10, 26, 12), duration_minutes=60))
    # Four real hours: 00:00 BST, 01:00 BST, 01:00 GMT, 02:00 GMT.
    assert times(offers) == ["10-25 23:00", "10-26 00:00", "10-26 01:00", "10-26 02:00"]
    # A repeated wall time means its first occurrence: 01:30-02:30 is 00:30Z-02:30Z.
    twice = channel(hours("01:30", "02:30"), tz=LONDON)
    windows = working_windows(twice, utc(2025, 10, 26), utc(2025, 10, 26, 12))
    assert Interval(utc(2025, 10, 26, 0, 30), utc(2025, 10, 26, 2, 30)) in windows


def test_weekly_hours_stay_local_in_new_york_both_ways():
    ch = channel(hours("09:00", "10:00"), tz=NEW_YORK)
    spring = find_slots(search([ch], utc(2025, 3, 8), utc(2025, 3, 10, 23), duration_minutes=60))
    assert times(spring) == ["03-08 14:00", "03-09 13:00", "03-10 13:00"]
    assert times(spring, NEW_YORK) == ["03-08 09:00", "03-09 09:00", "03-10 09:00"]
    autumn = find_slots(search([ch], utc(2025, 11, 1), utc(2025, 11, 3, 23), duration_minutes=60))
    assert times(autumn) == ["11-01 13:00", "11-02 14:00", "11-03 14:00"]


def test_southern_hemisphere_sydney_both_ways():
    ch = channel(hours("09:00", "10:00"), tz=SYDNEY)
    # Daylight saving ends Sunday 6 April 2025 (+11 -> +10).
    autumn = find_slots(search([ch], utc(2025, 4, 4, 12), utc(2025, 4, 6, 12), duration_minutes=60))
    assert times(autumn) == ["04-04 22:00", "04-05 23:00"]
    assert times(autumn, SYDNEY) == ["04-05 09:00", "04-06 09:00"]
    # It starts Sunday 5 October 2025 (02:00 -> 03:00): 02:30 is in the gap, moved to 03:30.
    gap = channel(hours("02:30", "04:00"), tz=SYDNEY)
    offers = find_slots(search([gap], utc(2025, 10, 4, 12), utc(2025, 10, 5, 12), duration_minutes=30))
    assert times(offers, SYDNEY) == ["10-05 03:30"]


def test_output_is_utc_instants_on_a_day_that_changes_offset():
    ch = channel(hours("00:00", "24:00", days={6}), tz=LONDON)
    offers = find_slots(search([ch], utc(2025, 3, 29), utc(2025, 3, 31), duration_minutes=60))
    assert len(offers) == 23  # a 23-hour day


# --- busy time ---------------------------------------------------------------------------


def test_padding_both_sides_and_half_open_edges():
    ch = channel(hours("09:00", "12:00"))
    busy = {"cli_a": [block(utc(2025, 1, 20, 10), utc(2025, 1, 20, 10, 30))]}
    offers = find_slots(search([ch], utc(2025, 1, 20), utc(2025, 1, 20, 23), duration_minutes=30, interval_minutes=5,
                               busy=busy, padding_before_minutes=10, padding_after_minutes=5))
    got = times(offers)
    # [t-10, t+35) must miss [10:00, 10:30): 09:25 is the last start before, 10:40 the first after.
    assert "01-20 09:25" in got and "01-20 09:30" not in got
    assert "01-20 10:35" not in got and "01-20 10:40" in got


def test_a_booking_is_widened_by_its_own_types_padding():
    ch = channel(hours("09:00", "12:00"))
    # Another type's 10:00-10:30 appointment with 15 minutes after: busy until 10:45.
    apt = booking(utc(2025, 1, 20, 10), utc(2025, 1, 20, 10, 30), type_id="type_other",
                  padded=Interval(utc(2025, 1, 20, 10), utc(2025, 1, 20, 10, 45)))
    offers = find_slots(search([ch], utc(2025, 1, 20), utc(2025, 1, 20, 23), duration_minutes=30, interval_minutes=15,
                               busy={"cli_a": [apt]}))
    assert times(offers) == ["01-20 09:00", "01-20 09:15", "01-20 09:30", "01-20 10:45", "01-20 11:00", "01-20 11:15",
                             "01-20 11:30"]


def test_padding_need_not_fit_in_working_hours():
    ch = channel(hours("09:00", "10:00"))
    offers = find_slots(search([ch], utc(2025, 1, 20), utc(2025, 1, 20, 23), duration_minutes=60,
                               padding_before_minutes=30, padding_after_minutes=30))
    assert times(offers) == ["01-20 09:00"]


def test_holds_are_busy_like_appointments():
    ch = channel(hours("09:00", "11:00"))
    hold = booking(utc(2025, 1, 20, 9), utc(2025, 1, 20, 9, 30), source="hold", ref="hold_1")
    offers = find_slots(search([ch], utc(2025, 1, 20), utc(2025, 1, 20, 23), busy={"cli_a": [hold]}))
    assert times(offers) == ["01-20 09:30", "01-20 10:00", "01-20 10:30"]


# --- groups ------------------------------------------------------------------------------


def test_a_group_start_stays_open_until_capacity():
    ch = channel(hours("09:00", "12:00"))

    def with_bookings(n, type_id="type_x"):
        busy = [booking(utc(2025, 1, 20, 9), utc(2025, 1, 20, 10), type_id=type_id, ref=f"apt_{i}") for i in range(n)]
        return times(find_slots(search([ch], utc(2025, 1, 20), utc(2025, 1, 20, 23), duration_minutes=60,
                                       interval_minutes=30, capacity=3, busy={"cli_a": busy})))

    assert with_bookings(2) == ["01-20 09:00", "01-20 10:00", "01-20 10:30", "01-20 11:00"]
    assert with_bookings(3) == ["01-20 10:00", "01-20 10:30", "01-20 11:00"]  # full
    assert with_bookings(1, type_id="type_other") == ["01-20 10:00", "01-20 10:30", "01-20 11:00"]


# --- rooms -------------------------------------------------------------------------------


def test_in_person_slots_need_a_free_room_first_by_id():
    in_person = channel(hours("09:00", "11:00"))
    remote = channel(hours("09:00", "10:00"), location=None)
    busy = {
        "res_1": [block(utc(2025, 1, 20, 9), utc(2025, 1, 20, 9, 30))],
        "res_2": [block(utc(2025, 1, 20, 9), utc(2025, 1, 20, 10))],
    }
    offers = find_slots(search([in_person, remote], utc(2025, 1, 20), utc(2025, 1, 20, 23), busy=busy,
                               needs_room=True, rooms={"loc_a": ("res_1", "res_2")}))
    assert [(t, o.resource_ids) for t, o in zip(times(offers), offers)] == [
        ("01-20 09:00", ("cli_a",)),  # remote: no room
        ("01-20 09:30", ("cli_a", "res_1")),
        ("01-20 09:30", ("cli_a",)),
        ("01-20 10:00", ("cli_a", "res_1")),
        ("01-20 10:30", ("cli_a", "res_1")),
    ]
    # A type with rooms but none at the location offers nothing there.
    none_here = search([in_person], utc(2025, 1, 20), utc(2025, 1, 20, 23), needs_room=True, rooms={})
    assert find_slots(none_here) == []


# --- round robin -------------------------------------------------------------------------


def three_clinicians():
    return [channel(hours("09:00", "10:00"), clinician=c) for c in ("cli_a", "cli_b", "cli_c")]


def test_default_gives_one_slot_per_free_clinician_sorted():
    busy = {"cli_b": [block(utc(2025, 1, 20, 9), utc(2025, 1, 20, 9, 30))]}
    offers = find_slots(search(three_clinicians(), utc(2025, 1, 20), utc(2025, 1, 20, 23), busy=busy))
    assert [(t, o.clinician_id) for t, o in zip(times(offers), offers)] == [
        ("01-20 09:00", "cli_a"), ("01-20 09:00", "cli_c"),
        ("01-20 09:30", "cli_a"), ("01-20 09:30", "cli_b"), ("01-20 09:30", "cli_c"),
    ]


def test_none_lists_every_free_clinician():
    busy = {"cli_b": [block(utc(2025, 1, 20, 9), utc(2025, 1, 20, 9, 30))]}
    offers = find_slots(search(three_clinicians(), utc(2025, 1, 20), utc(2025, 1, 20, 23), busy=busy, round_robin="NONE"))
    assert [o.resource_ids for o in offers] == [("cli_a", "cli_c"), ("cli_a", "cli_b", "cli_c")]
    assert [o.clinician_id for o in offers] == [None, None]


def test_random_is_one_free_clinician_and_repeatable_with_a_seed():
    day = [search(three_clinicians(), utc(2025, 1, d), utc(2025, 1, d, 23), round_robin="RANDOM", seed=s)
           for d in range(20, 25) for s in (1,)]
    first = [[o.resource_ids for o in find_slots(s)] for s in day]
    again = [[o.resource_ids for o in find_slots(s)] for s in day]
    assert first == again
    assert all(len(ids) == 1 for run in first for ids in run)
    picked = set()
    for seed in range(20):
        offers = find_slots(search(three_clinicians(), utc(2025, 1, 20), utc(2025, 1, 20, 23), round_robin="RANDOM",
                                   seed=seed))
        assert len(offers) == 2
        picked |= {o.clinician_id for o in offers}
    assert picked == {"cli_a", "cli_b", "cli_c"}


def test_balanced_picks_the_clinician_with_fewest_appointments_in_the_window():
    def apt(day, hour, ref):
        return booking(utc(2025, 1, day, hour), utc(2025, 1, day, hour, 30), ref=ref)

    busy = {
        "cli_a": [apt(20, 12, "a1"), apt(20, 13, "a2")],
        "cli_b": [apt(20, 12, "b1")],
        "cli_c": [apt(20, 12, "c1"), apt(20, 13, "c2"), apt(19, 12, "c0")],  # c0 is outside the window
    }
    chans = [channel(hours("09:00", "10:00"), clinician=c) for c in ("cli_a", "cli_b", "cli_c")]
    offers = find_slots(search(chans, utc(2025, 1, 20), utc(2025, 1, 20, 23), busy=busy, round_robin="BALANCED"))
    assert [o.clinician_id for o in offers] == ["cli_b", "cli_b"]
    # Ties are broken at random, repeatably with a seed.
    tie = {"cli_a": busy["cli_a"], "cli_c": busy["cli_c"][:2]}
    chosen = {
        find_slots(search(chans, utc(2025, 1, 20), utc(2025, 1, 20, 23), busy={**tie, "cli_b": busy["cli_a"]},
                          round_robin="BALANCED", seed=seed))[0].clinician_id
        for seed in range(20)
    }
    assert chosen == {"cli_a", "cli_b", "cli_c"}


def test_combined_needs_every_resource_free_at_once():
    chans = [
        channel(hours("09:00", "11:00"), clinician="cli_a"),
        channel(hours("10:00", "12:00"), clinician="cli_b"),
    ]
    busy = {"res_1": [block(utc(2025, 1, 20, 10), utc(2025, 1, 20, 10, 30))]}
    offers = find_slots(search(chans, utc(2025, 1, 20), utc(2025, 1, 20, 23), busy=busy, round_robin="COMBINED",
                               combined_ids=("cli_a", "cli_b", "res_1"), rooms={"loc_a": ("res_1",)}))
    assert [(t, o.resource_ids) for t, o in zip(times(offers), offers)] == [
        ("01-20 10:30", ("cli_a", "cli_b", "res_1"))
    ]
    assert offers[0].clinician_id is None


def test_slots_sort_in_person_before_remote():
    chans = [channel(hours("09:00", "09:30"), location=None), channel(hours("09:00", "09:30"), location="loc_z")]
    offers = find_slots(search(chans, utc(2025, 1, 20), utc(2025, 1, 20, 23)))
    assert [o.location_id for o in offers] == ["loc_z", None]


@pytest.mark.parametrize("interval", [1, 5, 7, 60])
def test_grid_points_are_window_start_plus_multiples(interval):
    ch = channel(hours("09:03", "11:00"))
    offers = find_slots(search([ch], utc(2025, 1, 20), utc(2025, 1, 20, 23), duration_minutes=15,
                               interval_minutes=interval))
    base = utc(2025, 1, 20, 9, 3)
    assert offers and all(((o.start - base).total_seconds() / 60) % interval == 0 for o in offers)
