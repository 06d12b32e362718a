"""The demo: the sample clinic with its dates moved by whole weeks to lie around now."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from frontdesk.domain.blocks import expand_block
from frontdesk.domain.intervals import Interval
from frontdesk.services.clinic import clinic_overview, default_sample
from frontdesk.services.demo import (
    appointment_week,
    build_demo,
    shift_clinic_data,
    weeks_to_now,
)
from frontdesk.services.demo_clock import demo_start, sample_zone
from frontdesk.store.clinic_file import read_clinic_file
from frontdesk.store.models import (
    Appointment,
    Block,
    Patient,
    ScheduleOverride,
    ScheduleRule,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")

DATA = {
    "locations": [
        {"id": "loc_l", "name": "L", "timezone": "Europe/London"},
        {"id": "loc_n", "name": "N", "timezone": "America/New_York"},
    ],
    "clinicians": [{"id": "cli_a", "name": "A"}, {"id": "cli_b", "name": "B", "timezone": "America/New_York"}],
    "appointment_types": [],
    "schedules": [{"clinician_id": "cli_a", "location_id": "loc_l", "days": ["mon"], "start": "09:00",
                   "end": "17:00", "valid_from": "2025-01-01", "valid_until": "2025-03-31"}],
    "overrides": [{"clinician_id": "cli_a", "location_id": "loc_l", "date": "2025-01-25", "start": "09:00", "end": "12:00"}],
    "blocks": [{"resource_id": "cli_a", "start": "2025-01-20T12:30", "end": "2025-01-20T13:15",
                "rrule": "FREQ=WEEKLY;BYDAY=MO;UNTIL=20250331T235959Z"}],
    "patients": [{"id": "pat_p", "first_name": "P", "last_name": "Q", "date_of_birth": "1980-01-20"}],
    "appointments": [
        {"id": "apt_l", "location_id": "loc_l", "clinician_profile_id": "cli_a", "title": "t",
         "start_time": "2025-01-20T09:00:00Z", "end_time": "2025-01-20T09:30:00Z", "created_at": "2025-01-13T10:00:00Z"},
        {"id": "apt_r", "is_remote": True, "clinician_profile_id": "cli_b", "title": "t",
         "start_time": "2025-01-22T15:00:00Z", "end_time": "2025-01-22T15:30:00Z"},
    ],
}


def test_shift_moves_every_date_by_whole_weeks_and_keeps_birthdays():
    moved = shift_clinic_data(DATA, 3)
    assert moved["schedules"][0]["valid_from"] == "2025-01-22"
    assert moved["schedules"][0]["valid_until"] == "2025-04-21"
    assert moved["overrides"][0]["date"] == "2025-02-15"
    assert (moved["blocks"][0]["start"], moved["blocks"][0]["end"]) == ("2025-02-10T12:30", "2025-02-10T13:15")
    assert moved["blocks"][0]["rrule"] == "FREQ=WEEKLY;BYDAY=MO;UNTIL=20250421T235959Z"
    assert moved["appointments"][0]["start_time"] == "2025-02-10T09:00:00Z"
    assert moved["appointments"][0]["created_at"] == "2025-02-03T10:00:00Z"
    assert moved["patients"][0]["date_of_birth"] == "1980-01-20"
    assert DATA["schedules"][0]["valid_from"] == "2025-01-01"  # the input is left alone


def test_shift_keeps_local_wall_time_across_daylight_saving():
    moved = shift_clinic_data(DATA, 26)  # January to July
    london = datetime.fromisoformat(moved["appointments"][0]["start_time"]).astimezone(LONDON)
    assert (london.date(), london.hour, london.minute) == (date(2025, 7, 21), 9, 0)
    # A remote appointment keeps the clinician's own wall time (10:00 in New York).
    remote = datetime.fromisoformat(moved["appointments"][1]["start_time"]).astimezone(NEW_YORK)
    assert (remote.date(), remote.hour) == (date(2025, 7, 23), 10)
    assert moved["appointments"][1]["start_time"] == "2025-07-23T14:00:00Z"


def test_shift_backwards_works_too():
    moved = shift_clinic_data(DATA, -2)
    assert moved["overrides"][0]["date"] == "2025-01-11"
    assert moved["appointments"][0]["start_time"] == "2025-01-06T09:00:00Z"


@pytest.mark.parametrize(
    "now, weeks",
    [
        (datetime(2025, 1, 20, 0, 0, tzinfo=UTC), 0),  # the sample's own Monday
        (datetime(2025, 1, 24, 23, 0, tzinfo=UTC), 0),  # its Friday
        (datetime(2025, 1, 25, 9, 0, tzinfo=UTC), 1),  # Saturday: the week ahead
        (datetime(2025, 1, 26, 9, 0, tzinfo=UTC), 1),  # Sunday: the week ahead
        (datetime(2026, 3, 11, 10, 0, tzinfo=UTC), 59),
        (datetime(2024, 12, 31, 10, 0, tzinfo=UTC), -3),
    ],
)
def test_weeks_to_now_puts_the_appointment_week_on_the_current_week(now, weeks):
    assert weeks_to_now(DATA, now) == weeks


def test_no_appointments_no_shift():
    assert weeks_to_now({"locations": []}, datetime(2030, 1, 1, tzinfo=UTC)) == 0


def test_build_demo_puts_the_sample_week_around_now(ctx, clock):
    clock.set(datetime(2026, 3, 11, 10, 0, tzinfo=UTC))  # a Wednesday
    sample = read_clinic_file(default_sample())
    report = build_demo(ctx)
    assert report.counts["appointments"] == len(sample["appointments"])
    monday = date(2026, 3, 9)
    with ctx.db.session() as s:
        appointments = s.scalars(select(Appointment).order_by(Appointment.start_time)).all()
        local_days = {a.start_time.astimezone(LONDON).date() for a in appointments}
        assert min(local_days) == monday and max(local_days) <= monday + timedelta(days=6)
        # Weekdays keep their names, and wall-clock times are kept: Dr. Okafor's first
        # patient of the week is still at 09:00 on Monday in London.
        first = s.get(Appointment, "apt_0001")
        assert first.start_time.astimezone(LONDON) == datetime(2026, 3, 9, 9, 0, tzinfo=LONDON)
        # Hudson Street is already on summer time; its 10:00 is still 10:00 local.
        reyes = s.scalars(select(Appointment).where(Appointment.clinician_profile_id == "cli_daniel_reyes")
                          .order_by(Appointment.start_time)).first()
        assert reyes.start_time.astimezone(NEW_YORK).hour == 10
        # Dates of birth are real dates, not moved.
        assert s.get(Patient, "pat_oliver_bennett").date_of_birth == date(1978, 3, 14)
        assert {r.valid_from for r in s.scalars(select(ScheduleRule))} == {date(2025, 1, 1) + timedelta(weeks=59)}
        assert {o.date.weekday() for o in s.scalars(select(ScheduleOverride))} == {3, 5}  # a Thursday and a Saturday
        lunch = s.scalars(select(Block).where(Block.resource_id == "cli_amara_okafor", Block.rrule.is_not(None))).one()
        week = Interval(datetime(2026, 3, 9, tzinfo=UTC), datetime(2026, 3, 14, tzinfo=UTC))
        lunches = expand_block(lunch.start_local, lunch.end_local, lunch.rrule, LONDON, week)
        assert [o.start.astimezone(LONDON).strftime("%a %H:%M") for o in lunches] == [
            "Mon 12:30", "Tue 12:30", "Wed 12:30", "Thu 12:30", "Fri 12:30",
        ]
    assert clinic_overview(ctx).name == "Riverside Health"


def test_build_demo_on_a_weekend_shows_the_week_ahead(ctx, clock):
    clock.set(datetime(2025, 6, 15, 12, 0, tzinfo=UTC))  # a Sunday
    build_demo(ctx)
    with ctx.db.session() as s:
        starts = list(s.scalars(select(Appointment.start_time)))
    assert min(starts).date() == date(2025, 6, 16)
    assert appointment_week(read_clinic_file(default_sample())) == date(2025, 1, 20)


def test_build_demo_takes_another_sample(ctx, tmp_path, clock):
    path = tmp_path / "mine.toml"
    path.write_text(
        "appointment_types = []\n"
        '[[locations]]\nid = "loc_x"\nname = "X"\ntimezone = "UTC"\n'
        '[[clinicians]]\nid = "cli_x"\nname = "X"\ntimezone = "UTC"\n'
        '[[appointments]]\nid = "apt_x"\ntitle = "x"\nclinician_profile_id = "cli_x"\nlocation_id = "loc_x"\n'
        'start_time = "2024-01-03T09:00:00Z"\nend_time = "2024-01-03T09:30:00Z"\n'
    )
    assert build_demo(ctx, path).path == str(path)
    with ctx.db.session() as s:
        start = s.get(Appointment, "apt_x").start_time
    assert start == datetime(2025, 1, 22, 9, 0, tzinfo=UTC)  # the Wednesday of the clock's week


def test_the_demo_offers_free_time_around_its_bookings(ctx, clock):
    """End to end: the loaded hours, lunch blocks and padded bookings are what the engine reads."""
    from frontdesk.services.availability import query_availability
    from frontdesk.services.objects import AvailabilityQuery

    clock.set(datetime(2026, 3, 9, 7, 0, tzinfo=UTC))  # the Monday of the demo week, 07:00 London
    build_demo(ctx)
    wednesday = query_availability(ctx, AvailabilityQuery(
        appointment_type_id="type_new_patient", clinician_id="cli_amara_okafor", location_id="loc_central",
        start_date="2026-03-11", end_date="2026-03-11", timezone="Europe/London",
    ))
    starts = {s.start_time.strftime("%H:%M") for s in wednesday.slots}
    # Wednesday: practice meeting 08:30-09:30, bookings 09:30-09:50 and 10:00-10:45,
    # lunch 12:30-13:15; a new patient takes 45 minutes.
    assert not {"08:30", "09:00", "09:30", "10:00", "10:30", "12:00", "12:15", "12:30", "13:00"} & starts
    assert {"10:45", "11:45", "13:15", "16:15"} <= starts
    video = query_availability(ctx, AvailabilityQuery(
        appointment_type_id="type_telehealth", start_date="2026-03-10", end_date="2026-03-10",
        timezone="Europe/London",
    ))
    assert video.slots and all(s.is_remote for s in video.slots)


@pytest.mark.parametrize("now", [datetime(2025, 3, 31, 8, 0, tzinfo=UTC), datetime(2026, 11, 18, 12, 0, tzinfo=UTC)])
def test_the_demo_never_shows_a_visit_that_has_not_ended_as_completed_or_no_show(ctx, clock, now):
    clock.set(now)
    build_demo(ctx)
    with ctx.db.session() as session:
        rows = session.execute(select(Appointment.status, Appointment.end_time)).all()
    assert not [(s, e) for s, e in rows if s in ("completed", "no_show") and e > now]
    # The earlier part of the week still shows outcomes (Monday morning has none yet).
    if now.weekday() > 0:
        assert any(s == "completed" for s, _ in rows) and any(s == "no_show" for s, _ in rows)


# --- a living day at any hour -----------------------------------------------------------------


@pytest.mark.parametrize(("now", "start"), [
    (datetime(2026, 11, 30, 12, 0, tzinfo=UTC), None),  # Monday noon: the clinic is open, the real clock
    (datetime(2026, 11, 29, 22, 55, tzinfo=UTC), datetime(2026, 11, 30, 10, 20, tzinfo=LONDON)),  # Sunday night
    (datetime(2026, 11, 30, 7, 0, tzinfo=UTC), datetime(2026, 11, 30, 10, 20, tzinfo=LONDON)),  # before opening
    (datetime(2026, 11, 30, 17, 0, tzinfo=UTC), datetime(2026, 12, 1, 10, 20, tzinfo=LONDON)),  # after closing
    (datetime(2026, 11, 27, 18, 0, tzinfo=UTC), datetime(2026, 11, 30, 10, 20, tzinfo=LONDON)),  # Friday evening
    (datetime(2026, 3, 27, 23, 30, tzinfo=UTC), datetime(2026, 3, 30, 10, 20, tzinfo=LONDON)),  # over the clocks' change
])
def test_the_demo_clock_starts_on_a_working_morning_when_the_clinic_is_quiet(now, start):
    assert demo_start(now, sample_zone()) == start


def test_the_demo_day_is_alive_on_its_working_morning(ctx, clock):
    """Run on a Sunday night, the demo opens on Monday 10:20: visits done, a no-show, someone
    in the room, someone waiting, and the rest of the day still to come."""
    morning = demo_start(datetime(2026, 11, 29, 22, 55, tzinfo=UTC), sample_zone())
    clock.set(morning)
    build_demo(ctx)
    with ctx.db.session() as session:
        today = session.execute(select(Appointment.status, Appointment.attendance_status).where(
            Appointment.location_id == "loc_central",
            Appointment.start_time >= morning.replace(hour=0, minute=0),
            Appointment.start_time < morning.replace(hour=23, minute=59))).all()
    states = {attendance or status for status, attendance in today}
    assert {"checked_out", "no_show", "in_room", "arrived"} <= states, today
    assert states & {"confirmed", "scheduled", "pending"}, today  # and visits still to come


def test_the_demos_past_class_was_held_and_its_roster_marked(ctx, clock):
    """Issue 12: the Wednesday back-care class is one group; by Thursday it has taken place,
    its attendees paid, one of them a no-show."""
    from frontdesk.services.appointments import get_appointment

    clock.set(datetime(2026, 3, 12, 10, 0, tzinfo=UTC))  # the Thursday after the class
    build_demo(ctx)
    group = get_appointment(ctx, "apt_0021")
    assert group.group and group.status == "completed"
    assert [(a.no_show, a.payment_status) for a in group.attendees] == [
        (False, "paid"), (False, "paid"), (True, "pending")]


def test_the_demos_class_ahead_has_its_roster_untouched(ctx, clock):
    from frontdesk.services.appointments import get_appointment

    clock.set(datetime(2026, 3, 11, 10, 0, tzinfo=UTC))  # the Wednesday morning
    build_demo(ctx)
    group = get_appointment(ctx, "apt_0021")
    assert group.status == "confirmed"
    assert [(a.attendance_status, a.no_show, a.payment_status) for a in group.attendees] == [
        ("going", False, "not_applicable")] * 3
