"""A clinician with a timezone of their own at sites in other zones (booking.md, Time; the
availability guide's clinician in America/Chicago serving Los Angeles and New York): the
in-person hours are read in the clinician's zone and cut to each site's opening hours, so
only the shared hours give slots, and a hold agrees with availability."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.availability import find_offered_slot, query_availability
from frontdesk.services.clinic import load_clinic_data
from frontdesk.services.holds import create_hold
from frontdesk.services.objects import AvailabilityQuery, HoldRequest

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
OPEN_8_TO_18 = [{"days": WEEKDAYS, "start": "08:00", "end": "18:00"}]

# Monday 20 January 2025; the clock stands at 2025-01-20T08:00Z (conftest).
CLINIC = {
    "clinic": {"name": "Coast to Coast"},
    "locations": [
        {"id": "loc_ny", "name": "New York", "timezone": "America/New_York", "hours": OPEN_8_TO_18},
        {"id": "loc_la", "name": "Los Angeles", "timezone": "America/Los_Angeles", "hours": OPEN_8_TO_18},
    ],
    "clinicians": [
        {"id": "cli_chicago", "name": "Dr. Chicago", "timezone": "America/Chicago"},
        # No timezone of her own: she takes New York's (her first hours), yet her hours at
        # Los Angeles stay Los Angeles wall time.
        {"id": "cli_local", "name": "Dr. Local"},
    ],
    "appointment_types": [
        {"id": "type_visit", "name": "Visit", "duration_minutes": 60,
         "clinician_ids": ["cli_chicago", "cli_local"], "location_ids": ["loc_ny", "loc_la"]},
    ],
    "schedules": [
        {"clinician_id": "cli_chicago", "location_id": "loc_ny", "days": WEEKDAYS, "start": "09:00", "end": "17:00"},
        {"clinician_id": "cli_chicago", "location_id": "loc_la", "days": WEEKDAYS, "start": "09:00", "end": "17:00"},
        {"clinician_id": "cli_local", "location_id": "loc_ny", "days": WEEKDAYS, "start": "09:00", "end": "17:00"},
        {"clinician_id": "cli_local", "location_id": "loc_la", "days": WEEKDAYS, "start": "09:00", "end": "17:00"},
    ],
}

NY, LA = "America/New_York", "America/Los_Angeles"


@pytest.fixture
def clinic(ctx):
    load_clinic_data(ctx, copy.deepcopy(CLINIC), source="test")
    return ctx


def load_with(ctx, **sections):
    data = copy.deepcopy(CLINIC)
    for name, rows in sections.items():
        data.setdefault(name, []).extend(rows)
    load_clinic_data(ctx, data, source="test")


def hours_at(ctx, location, tz, clinician="cli_chicago", day="2025-01-20"):
    result = query_availability(ctx, AvailabilityQuery(
        appointment_type_id="type_visit", start_date=day, end_date=day, clinician_id=clinician,
        location_id=location, timezone=tz))
    return [s.start_time.strftime("%H:%M") for s in result.slots]


def every_hour(first, last):
    return [f"{h:02d}:00" for h in range(first, last + 1)]


def test_the_chicago_clinician_gets_only_the_shared_hours_at_each_site(clinic):
    # 09:00-17:00 in Chicago is 10:00-18:00 in New York (open 08:00-18:00): 10:00-18:00.
    assert hours_at(clinic, "loc_ny", NY) == every_hour(10, 17)
    # ... and 07:00-15:00 in Los Angeles (open from 08:00): 08:00-15:00.
    assert hours_at(clinic, "loc_la", LA) == every_hour(8, 14)


def test_a_clinician_without_a_timezone_of_their_own_keeps_each_sites_wall_time(clinic):
    assert hours_at(clinic, "loc_ny", NY, clinician="cli_local") == every_hour(9, 16)
    assert hours_at(clinic, "loc_la", LA, clinician="cli_local") == every_hour(9, 16)


def test_overrides_and_own_blocks_are_read_in_the_clinicians_zone(clinic):
    override = {"clinician_id": "cli_chicago", "location_id": "loc_ny", "date": "2025-01-21",
                "start": "12:00", "end": "14:00"}
    block = {"resource_id": "cli_chicago", "start": "2025-01-20T12:00", "end": "2025-01-20T13:00", "reason": "Lunch"}
    load_with(clinic, overrides=[override], blocks=[block])
    # Lunch at 12:00 in Chicago is 13:00 in New York.
    assert hours_at(clinic, "loc_ny", NY) == [*every_hour(10, 12), *every_hour(14, 17)]
    # Tuesday's 12:00-14:00 in Chicago is 13:00-15:00 in New York.
    assert hours_at(clinic, "loc_ny", NY, day="2025-01-21") == ["13:00", "14:00"]


def test_a_hold_agrees_with_availability_across_zones(clinic):
    def hold(location, date, start_time):
        return create_hold(clinic, HoldRequest(appointment_type_id="type_visit", clinician_id="cli_chicago",
                                               location_id=location, date=date, start_time=start_time))

    def refused(*args):
        with pytest.raises(FrontdeskError) as caught:
            hold(*args)
        assert caught.value.code == "SLOT_UNAVAILABLE", caught.value.to_dict()

    refused("loc_ny", "2025-01-20", "09:00")  # 08:00 in Chicago: not yet at work
    refused("loc_la", "2025-01-20", "14:30")  # runs past 17:00 in Chicago
    assert hold("loc_ny", "2025-01-20", "10:00").start_time == datetime(2025, 1, 20, 15, tzinfo=UTC)
    assert hold("loc_la", "2025-01-20", "14:00").start_time == datetime(2025, 1, 20, 22, tzinfo=UTC)
    assert hold("loc_la", "2025-01-20", "08:00").start_time == datetime(2025, 1, 20, 16, tzinfo=UTC)
    refused("loc_la", "2025-01-20", "07:00")  # 09:00 in Chicago, but the site opens at 08:00

    # find_offered_slot, which the hold runs, offers exactly the slots availability lists.
    offered = set()
    with clinic.db.session() as session:
        for hour in range(12, 26):  # 04:00 to 17:00 in Los Angeles
            at = datetime(2025, 1, 21, tzinfo=UTC) + timedelta(hours=hour)
            if find_offered_slot(session, clinic.clock.now(), appointment_type_id="type_visit",
                                 clinician_id="cli_chicago", start=at, duration_minutes=None, location_id="loc_la",
                                 is_remote=False, room_id=None, interval_minutes=60):
                offered.add(at)
    listed = query_availability(clinic, AvailabilityQuery(
        appointment_type_id="type_visit", start_date="2025-01-21", end_date="2025-01-21",
        clinician_id="cli_chicago", location_id="loc_la", timezone=LA))
    assert offered == {s.start_time.astimezone(UTC) for s in listed.slots}
    assert len(offered) == 7
