"""One rule (booking.md, Integrity): what availability offers can be held, confirmed and
created directly; what it does not offer, for busy time alone, is refused by each of them.

Hypothesis builds small clinics (1-3 clinicians, 0-2 rooms, types with padding, notice,
groups with or without rooms, weekly hours, a block or two) and a history of bookings made
through the services (holds, confirms, direct creates with and without a type or a room,
overlaps allowed with a reason, cancels, the clock running past holds' expiry). Then it asks
availability about candidate starts of one morning and tries each path on them:

- offered: a direct create of the slot (its clinician and room) succeeds; once it is
  cancelled (its time is free again) a hold takes exactly the offered clinician and room and
  is confirmed (and cancelled again, so the next candidate meets the same state);
- not offered, though inside working hours and past the type's notice (so busy time is the
  only reason): a hold, a direct create choosing its room and a direct create of each of the
  type's rooms are all SLOT_UNAVAILABLE.

After every step of the history a reference read from the bookings themselves checks that
nothing is double-booked (overlapping padded times only between seats of one group, and no
group over its capacity).

A direct create does not enforce working hours (booking.md), so the refusal side is only
tested where busy time is the reason. FRONTDESK_PROPERTY_EXAMPLES=500 for a longer run.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from frontdesk.clock import FakeClock
from frontdesk.domain.errors import FrontdeskError
from frontdesk.domain.statuses import ACTIVE_APPOINTMENT_STATUSES
from frontdesk.services.appointments import cancel_appointment, create_appointment
from frontdesk.services.availability import query_availability
from frontdesk.services.clinic import load_clinic_data
from frontdesk.services.context import Context
from frontdesk.services.holds import confirm_hold, create_hold
from frontdesk.services.objects import (
    AppointmentCreate,
    AvailabilityQuery,
    ConfirmRequest,
    HoldRequest,
)
from frontdesk.store.models import (
    Appointment,
    Hold,
    appointment_resources,
    hold_resources,
)

EXAMPLES = int(os.environ.get("FRONTDESK_PROPERTY_EXAMPLES", "30"))
DAY = date(2025, 1, 21)  # a Tuesday; London is on UTC in winter, so local times are UTC times
NOW = datetime(2025, 1, 21, 7, 30, tzinfo=UTC)
LOC = "loc_a"
PATIENT = "pat_1"
# Starts of the history and of the candidates: every 5 minutes from 08:00 to 13:00.
FIRST, LAST = 8 * 60, 13 * 60
# What a refused booking in the history may be told; anything else is a defect of the test.
HISTORY_REFUSALS = {"SLOT_UNAVAILABLE", "HOLD_EXPIRED", "HOLD_NOT_ACTIVE", "INVALID_STATE_TRANSITION"}


def at(minute_of_day: int) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC) + timedelta(minutes=minute_of_day)


def hhmm(minute_of_day: int) -> str:
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"


# --- generated clinics and histories ---------------------------------------------------------


@st.composite
def clinics(draw) -> dict:
    clinicians = [f"cli_{i}" for i in range(draw(st.integers(1, 3)))]
    rooms = [f"room_{i}" for i in range(draw(st.integers(0, 2)))]
    types = []
    for i in range(draw(st.integers(1, 2))):
        types.append({
            "id": f"type_{i}",
            "name": f"Type {i}",
            "duration_minutes": draw(st.sampled_from([15, 30, 45, 60])),
            "padding_before_minutes": draw(st.sampled_from([0, 0, 5, 10])),
            "padding_after_minutes": draw(st.sampled_from([0, 0, 10, 15])),
            "min_notice_minutes": draw(st.sampled_from([0, 0, 90])),
            "capacity": draw(st.sampled_from([1, 1, 2, 3])),
            "modes": ["in_person"],
            "clinician_ids": draw(st.lists(st.sampled_from(clinicians), min_size=1, unique=True)),
            "location_ids": [LOC],
            "room_ids": draw(st.lists(st.sampled_from(rooms), unique=True)) if rooms else [],
        })
    hours = {
        c: (draw(st.sampled_from([8 * 60, 8 * 60, 9 * 60])), draw(st.sampled_from([12 * 60, 13 * 60, 13 * 60])))
        for c in clinicians
    }
    blocks = []
    for _ in range(draw(st.integers(0, 2))):
        start = draw(st.integers(FIRST // 15, LAST // 15)) * 15
        blocks.append({"resource_id": draw(st.sampled_from(clinicians + rooms)),
                       "start": f"{DAY}T{hhmm(start)}",
                       "end": f"{DAY}T{hhmm(start + draw(st.sampled_from([15, 30, 60])))}",
                       "reason": "Busy"})
    return {
        "clinic": {"name": "Generated", "hold_minutes": 15},
        "locations": [{"id": LOC, "name": "A", "timezone": "Europe/London"}],
        "rooms": [{"id": r, "name": r, "location_id": LOC} for r in rooms],
        "clinicians": [{"id": c, "name": c, "timezone": "Europe/London"} for c in clinicians],
        "appointment_types": types,
        "schedules": [
            {"clinician_id": c, "location_id": LOC, "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
             "start": hhmm(start), "end": hhmm(end)}
            for c, (start, end) in hours.items()
        ],
        "blocks": blocks,
        "patients": [{"id": PATIENT, "first_name": "Pat", "last_name": "One"}],
    }


def minutes() -> st.SearchStrategy[int]:
    return st.integers(FIRST // 5, LAST // 5).map(lambda n: n * 5)


def history_starts() -> st.SearchStrategy[int]:
    """Mostly on the quarter hour, so bookings meet and touch often."""
    return st.integers(FIRST // 15, LAST // 15).map(lambda n: n * 15) | minutes()


def steps(clinic: dict) -> st.SearchStrategy[list[tuple]]:
    types = [t["id"] for t in clinic["appointment_types"]]
    clinicians = [c["id"] for c in clinic["clinicians"]]
    rooms = [r["id"] for r in clinic["rooms"]]
    hold = st.tuples(st.just("hold"), st.sampled_from(types), st.sampled_from(clinicians), history_starts())
    step = st.one_of(
        hold,
        hold,
        st.tuples(st.just("confirm"), st.integers(0, 20)),
        st.tuples(
            st.just("create"),
            st.sampled_from([*types, None]),
            st.sampled_from(clinicians),
            history_starts(),
            st.sampled_from([15, 30, 45, 60]),
            st.sampled_from([None, *rooms]),
            st.sampled_from([None, None, None, "Agreed with the patient"]),
        ),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        # More seats of an earlier booking: the same type, clinician and start (groups fill up).
        st.tuples(st.just("join"), st.integers(0, 20), st.sampled_from(["hold", "create"]), st.sampled_from([1, 1, 2, 3])),
        st.tuples(st.just("join"), st.integers(0, 20), st.sampled_from(["hold", "create"]), st.sampled_from([1, 1, 2, 3])),
        st.tuples(st.just("tick"), st.sampled_from([5, 16, 16])),
    )
    return st.lists(step, min_size=2, max_size=12)


def replay(ctx: Context, clinic: dict, history: list[tuple]) -> list[tuple[str, str, datetime]]:
    """Make the history's bookings through the services; refusals are part of the story.
    Returns the (type, clinician, start) of each typed booking made."""
    types = {t["id"]: t for t in clinic["appointment_types"]}
    holds: list[str] = []
    booked: list[str] = []
    made: list[tuple[str, str, datetime]] = []
    queue = list(history)
    while queue:
        step = queue.pop(0)
        kind, *args = step
        if kind == "join" and made:
            type_id, clinician, start = made[args[0] % len(made)]
            again = (type_id, clinician, start.hour * 60 + start.minute, None, None, None)
            queue[:0] = [(args[1], *again)] * args[2]
            continue
        try:
            if kind == "hold":
                type_id, clinician, start = args[:3]
                holds.append(create_hold(ctx, HoldRequest(type_id, clinician, start=at(start), location_id=LOC)).id)
                made.append((type_id, clinician, at(start)))
            elif kind == "confirm" and holds:
                booked.append(confirm_hold(ctx, holds[args[0] % len(holds)], ConfirmRequest(patient_id=PATIENT)).id)
            elif kind == "create":
                type_id, clinician, start, length, room, reason = args
                if type_id is not None:
                    length = types[type_id]["duration_minutes"]
                booked.append(create_appointment(ctx, AppointmentCreate(
                    title="Earlier", start_time=at(start), end_time=at(start + length), patient_id=PATIENT,
                    clinician_profile_id=clinician, appointment_type_id=type_id, location_id=LOC, room_id=room,
                    allow_overlap_reason=reason,
                )).id)
                if type_id is not None:
                    made.append((type_id, clinician, at(start)))
            elif kind == "cancel" and booked:
                cancel_appointment(ctx, booked[args[0] % len(booked)], "Changed plans")
            elif kind == "tick":
                ctx.clock.advance(minutes=args[0])
        except FrontdeskError as error:
            assert error.code in HISTORY_REFUSALS, (step, error.to_dict())
        assert double_bookings(ctx, types) == [], step
    return made


def double_bookings(ctx: Context, types: dict[str, dict]) -> list[tuple]:
    """A reference for "nothing double-booked", read from the appointments and holds
    themselves: two active bookings of one resource whose padded times overlap must be seats
    of one group (same type, start and clinician), and no group has more seats than its
    type's capacity. Bookings allowed to overlap (with a reason) are left out."""
    now = ctx.clock.now()
    with ctx.db.session(write=False) as s:
        rows = [
            *s.execute(select(Appointment.id, Appointment.appointment_type_id, Appointment.clinician_profile_id,
                              Appointment.start_time, Appointment.end_time, appointment_resources.c.resource_id)
                       .join(appointment_resources, appointment_resources.c.appointment_id == Appointment.id)
                       .where(Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES), Appointment.overlap_reason.is_(None))),
            *s.execute(select(Hold.id, Hold.appointment_type_id, Hold.clinician_id, Hold.start_time, Hold.end_time,
                              hold_resources.c.resource_id)
                       .join(hold_resources, hold_resources.c.hold_id == Hold.id)
                       .where(Hold.status == "active", Hold.expires_at > now)),
        ]
    by_resource: dict[str, list] = {}
    for booking_id, type_id, clinician, start, end, resource in rows:
        type_ = types.get(type_id, {})
        low = start - timedelta(minutes=type_.get("padding_before_minutes", 0))
        high = end + timedelta(minutes=type_.get("padding_after_minutes", 0))
        by_resource.setdefault(resource, []).append((low, high, booking_id, (type_id, start, clinician)))
    found = []
    for resource, items in by_resource.items():
        for i, a in enumerate(items):
            for b in items[i + 1:]:
                if a[0] < b[1] and b[0] < a[1] and (a[3] != b[3] or types.get(a[3][0], {}).get("capacity", 1) < 2):
                    found.append((resource, a[2], b[2]))
            seats = sum(1 for b in items if b[3] == a[3])
            if a[3][0] is not None and seats > types[a[3][0]]["capacity"]:
                found.append((resource, a[2], f"{seats} seats"))
    return found


# --- the property ----------------------------------------------------------------------------


def offered(ctx: Context, type_id: str, clinician: str) -> dict[datetime, list[str]]:
    """The starts availability offers this clinician for the type that day, with the slot's resources."""
    result = query_availability(ctx, AvailabilityQuery(
        appointment_type_id=type_id, start_date=DAY.isoformat(), end_date=DAY.isoformat(),
        clinician_id=clinician, location_id=LOC, timezone="Europe/London", interval=5,
    ))
    return {s.start_time.astimezone(UTC): sorted(s.resource_ids) for s in result.slots}


def within_hours(ctx: Context, clinic: dict, type_: dict, clinician: str, start: datetime) -> bool:
    """Inside the clinician's working hours and past the type's notice: availability has no
    reason but busy time not to offer it."""
    rule = next(s for s in clinic["schedules"] if s["clinician_id"] == clinician)
    opens, closes = (int(rule[k][:2]) * 60 + int(rule[k][3:]) for k in ("start", "end"))
    minute = start.hour * 60 + start.minute
    notice = ctx.clock.now() + timedelta(minutes=type_["min_notice_minutes"])
    return opens <= minute and minute + type_["duration_minutes"] <= closes and start >= notice


def refused(call, *args) -> FrontdeskError:
    with pytest.raises(FrontdeskError) as caught:
        call(*args)
    return caught.value


def direct(type_: dict, clinician: str, start: datetime, room: str | None) -> AppointmentCreate:
    return AppointmentCreate(
        title="Direct", start_time=start, end_time=start + timedelta(minutes=type_["duration_minutes"]),
        patient_id=PATIENT, clinician_profile_id=clinician, appointment_type_id=type_["id"], location_id=LOC,
        room_id=room,
    )


def check_candidate(ctx: Context, clinic: dict, type_: dict, clinician: str, start: datetime) -> None:
    slots = offered(ctx, type_["id"], clinician)
    for when in slots:  # sanity of the test's own model of working hours
        assert within_hours(ctx, clinic, type_, clinician, when), when
    rooms = [r["id"] for r in clinic["rooms"]]
    where = (type_["id"], clinician, start.isoformat())
    if start in slots:
        event("an offered start booked every way")
        resources = slots[start]
        room = next((r for r in resources if r in rooms), None)
        made = create_appointment(ctx, direct(type_, clinician, start, room))
        assert sorted(made.resource_ids) == resources, where
        cancel_appointment(ctx, made.id, "Only trying")
        hold = create_hold(ctx, HoldRequest(type_["id"], clinician, start=start, location_id=LOC))
        assert sorted(hold.resource_ids) == resources, where
        made = confirm_hold(ctx, hold.id, ConfirmRequest(patient_id=PATIENT))
        assert sorted(made.resource_ids) == resources, where
        cancel_appointment(ctx, made.id, "Only trying")
        assert offered(ctx, type_["id"], clinician) == slots, "cancelling gives the time back"
    elif within_hours(ctx, clinic, type_, clinician, start):
        event("a busy start refused every way")
        error = refused(create_hold, ctx, HoldRequest(type_["id"], clinician, start=start, location_id=LOC))
        assert error.code == "SLOT_UNAVAILABLE", (where, error.to_dict())
        for room in [None, *type_["room_ids"]]:
            error = refused(create_appointment, ctx, direct(type_, clinician, start, room))
            assert error.code == "SLOT_UNAVAILABLE", (where, room, error.to_dict())


def run(url: str, data) -> None:
    clinic = data.draw(clinics(), label="clinic")
    ctx = Context.open(url, clock=FakeClock(NOW), operator="desk")
    try:
        load_clinic_data(ctx, clinic, source="generated")
        made = replay(ctx, clinic, data.draw(steps(clinic), label="history"))
        types = {t["id"]: t for t in clinic["appointment_types"]}
        for _ in range(data.draw(st.integers(3, 8), label="candidates")):
            type_ = data.draw(st.sampled_from(sorted(types.values(), key=lambda t: t["id"])), label="type")
            clinician = data.draw(st.sampled_from(type_["clinician_ids"]), label="clinician")
            if made and data.draw(st.booleans(), label="at an earlier booking"):
                # Another seat of it (a full group?), or the same time on its clinician.
                type_id, booked_by, start = data.draw(st.sampled_from(made), label="earlier booking")
                if booked_by in types[type_id]["clinician_ids"]:
                    check_candidate(ctx, clinic, types[type_id], booked_by, start)
                    continue
            # Mostly starts availability offers or leaves out for busy time, so both sides are tried often.
            slots = offered(ctx, type_["id"], clinician)
            busy = [t for t in map(at, range(FIRST, LAST + 1, 5))
                    if t not in slots and within_hours(ctx, clinic, type_, clinician, t)]
            pick = data.draw(st.sampled_from(["offered", "busy", "any"]), label="kind of start")
            if pick == "offered" and slots:
                start = data.draw(st.sampled_from(sorted(slots)), label="offered start")
            elif pick == "busy" and busy:
                start = data.draw(st.sampled_from(busy), label="busy start")
            else:
                start = at(data.draw(minutes(), label="start"))
            check_candidate(ctx, clinic, type_, clinician, start)
    finally:
        ctx.db.dispose()


PROPERTY = settings(max_examples=EXAMPLES, deadline=None, derandomize="FRONTDESK_PROPERTY_EXAMPLES" not in os.environ,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory(prefix="frontdesk-property-") as name:
        yield name


@PROPERTY
@given(data=st.data())
def test_what_availability_offers_every_path_books_and_what_it_does_not_each_refuses(folder, data):
    fd, path = tempfile.mkstemp(suffix=".db", dir=folder)
    os.close(fd)
    os.unlink(path)
    run(f"sqlite:///{path}", data)


@pytest.mark.postgres
@settings(PROPERTY, max_examples=max(3, EXAMPLES // 8))
@given(data=st.data())
def test_the_same_on_postgresql(postgres_cluster, data):
    run(postgres_cluster.create_database(), data)
