"""Never a double booking: real processes racing on one database, SQLite file and PostgreSQL.

Eight long-lived worker processes (spawned, each with its own connection) take one task
each per round and wait on a barrier, so their calls really start together.
"""

from __future__ import annotations

import copy
import multiprocessing
import random
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from booking_clinic import CLINIC, load, utc

from frontdesk.clock import FakeClock
from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.appointments import (
    create_appointment,
    get_appointment,
    list_appointments,
    update_appointment,
)
from frontdesk.services.clinic import load_clinic_data
from frontdesk.services.context import Context
from frontdesk.services.holds import (
    confirm_hold,
    create_hold,
    get_hold,
    release_hold,
    reschedule_appointment,
)
from frontdesk.services.objects import (
    AppointmentCreate,
    AppointmentFilter,
    ConfirmRequest,
    HoldRequest,
    NewPatient,
)
from frontdesk.services.patients import search_patients

NOW = utc(2025, 1, 20, 8)
WORKERS = 8
ROUNDS = 20


def weekdays(count: int, first: date = date(2025, 1, 21)) -> list[date]:
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return utc(day.year, day.month, day.day, hour, minute)  # London is on UTC in winter


# --- the workers -------------------------------------------------------------------------


def _hold(ctx, clinician_id: str, start: datetime) -> str:
    return create_hold(ctx, HoldRequest("type_followup", clinician_id, start=start, location_id="loc_central")).id


def _book(ctx, clinician_id: str, start: datetime, key: str | None = None) -> str:
    request = AppointmentCreate(title="Walk-in", start_time=start, end_time=start + timedelta(minutes=30),
                                clinician_profile_id=clinician_id, idempotency_key=key)
    return create_appointment(ctx, request).id


def _confirm(ctx, hold_id: str) -> str:
    return confirm_hold(ctx, hold_id, ConfirmRequest(patient_id="pat_john_smith")).id


def _release(ctx, hold_id: str) -> str:
    return release_hold(ctx, hold_id).id


def _move(ctx, appointment_id: str, start: datetime) -> str:
    return update_appointment(ctx, appointment_id, {"start_time": start, "end_time": start + timedelta(minutes=30)}).id


def _move_by_hold(ctx, appointment_id: str, clinician_id: str, start: datetime) -> str:
    """The desk's move: hold the new time for the appointment, then move it onto the hold."""
    hold = create_hold(ctx, HoldRequest("type_followup", clinician_id, start=start, location_id="loc_central",
                                        reschedule_appointment_id=appointment_id))
    return reschedule_appointment(ctx, appointment_id, hold.id).id


def _confirm_at(ctx, hold_id: str, clock: datetime) -> str:
    """A confirm from a desk whose clock says `clock` (desks' clocks disagree)."""
    ctx.clock.set(clock)
    try:
        return _confirm(ctx, hold_id)
    finally:
        ctx.clock.set(NOW)


def _load(ctx, data: dict) -> str:
    load_clinic_data(ctx, data, source="reload")
    return data["appointments"][0]["id"]


def _noop(ctx) -> str:
    return "idle"


def _seat(ctx, start: datetime, first_name: str) -> str:
    """A desk books a new patient into Tom's class (capacity 3): hold a seat, confirm it."""
    hold = create_hold(ctx, HoldRequest("type_class", "cli_tom", start=start, location_id="loc_central"))
    return confirm_hold(ctx, hold.id, ConfirmRequest(new_patient=NewPatient(first_name, "Racer"))).id


def _add_attendee(ctx, appointment_id: str, patient_id: str) -> str:
    from frontdesk.services.attendees import add_attendee

    return add_attendee(ctx, appointment_id, patient_id).id


TASKS = {"seat": _seat, "add_attendee": _add_attendee, "hold": _hold, "book": _book, "confirm": _confirm, "release": _release, "move": _move, "move_by_hold": _move_by_hold,
         "confirm_at": _confirm_at, "load": _load, "noop": _noop}


def _worker(index: int, barrier, tasks, results) -> None:
    contexts: dict[str, Context] = {}
    while True:
        task = tasks.get()
        if task is None:
            for context in contexts.values():
                context.db.dispose()
            break
        url, name, args = task
        ctx = contexts.get(url)
        if ctx is None:
            ctx = contexts[url] = Context.open(url, clock=FakeClock(NOW), operator=f"desk{index}")
        barrier.wait(timeout=60)
        try:
            outcome = ("ok", TASKS[name](ctx, *args))
        except FrontdeskError as error:
            outcome = ("refused", error.code)
        except Exception as error:  # reported to the test, which fails on it
            outcome = ("crashed", repr(error))
        results.put((index, outcome))


class Desks:
    """Eight processes; `race` gives each one task and returns the outcomes in worker order."""

    def __init__(self):
        spawn = multiprocessing.get_context("spawn")
        self.barrier = spawn.Barrier(WORKERS)
        self.results = spawn.Queue()
        self.queues = [spawn.Queue() for _ in range(WORKERS)]
        self.processes = [
            spawn.Process(target=_worker, args=(i, self.barrier, self.queues[i], self.results), daemon=True)
            for i in range(WORKERS)
        ]
        for process in self.processes:
            process.start()

    def race(self, url: str, tasks: list[tuple]) -> list[tuple[str, str]]:
        tasks = tasks + [("noop",)] * (WORKERS - len(tasks))
        for queue, (name, *args) in zip(self.queues, tasks):
            queue.put((url, name, tuple(args)))
        outcomes = dict(self.results.get(timeout=120) for _ in range(WORKERS))
        return [outcomes[i] for i in range(WORKERS)]

    def close(self):
        for queue in self.queues:
            queue.put(None)
        for process in self.processes:
            process.join(timeout=10)


@pytest.fixture(scope="module")
def desks():
    pool = Desks()
    yield pool
    pool.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    value = f"sqlite:///{tmp_path / 'race.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    ctx = Context.open(value, clock=FakeClock(NOW), operator="setup")
    load(ctx)
    ctx.db.dispose()
    return value


@pytest.fixture
def ctx(url):
    context = Context.open(url, clock=FakeClock(NOW), operator="checker")
    yield context
    context.db.dispose()


def count(outcomes, kind):
    assert not [o for o in outcomes if o[0] == "crashed"], outcomes
    return sum(1 for o in outcomes if o[0] == kind)


def active_holds(ctx) -> list:
    from sqlalchemy import select

    from frontdesk.store.models import Hold

    with ctx.db.session() as s:
        return list(s.execute(select(Hold.id, Hold.start_time, Hold.clinician_id).where(Hold.status == "active")))


# --- the races ---------------------------------------------------------------------------


def test_eight_desks_racing_for_one_slot_get_exactly_one_hold(desks, url, ctx):
    """Half ask for Sarah, half for Tom, at the same start: both need Consulting Room 1."""
    for round_, day in enumerate(weekdays(ROUNDS)):
        tasks = [("hold", "cli_sarah" if i % 2 else "cli_tom", at(day, 9)) for i in range(WORKERS)]
        outcomes = desks.race(url, tasks)
        assert count(outcomes, "ok") == 1, (round_, outcomes)
        assert {o for o in outcomes if o[0] == "refused"} == {("refused", "SLOT_UNAVAILABLE")}
    holds = active_holds(ctx)
    assert len(holds) == ROUNDS
    assert len({start for _, start, _ in holds}) == ROUNDS


def test_holds_racing_direct_creates_never_share_a_time(desks, url, ctx):
    for day in weekdays(8):
        tasks = [("hold", "cli_sarah", at(day, 10)) if i % 2 else ("book", "cli_sarah", at(day, 10, 10)) for i in range(WORKERS)]
        outcomes = desks.race(url, tasks)
        assert count(outcomes, "ok") == 1, outcomes
        assert count(outcomes, "refused") == WORKERS - 1
    booked = list_appointments(ctx, AppointmentFilter(limit=100)).items
    assert len(booked) + len(active_holds(ctx)) == 8


def test_a_confirm_racing_a_release_ends_one_way_or_the_other(desks, url, ctx):
    days = weekdays(8)
    holds = [_hold(ctx, "cli_sarah", at(day, 11)) for day in days]
    for hold_id in holds:
        outcomes = desks.race(url, [("confirm", hold_id), ("release", hold_id), ("confirm", hold_id), ("release", hold_id)])
        real = outcomes[:4]
        assert count(real, "ok") == 1, real
        assert {o for o in real if o[0] == "refused"} == {("refused", "HOLD_NOT_ACTIVE")}
        hold = get_hold(ctx, hold_id)
        winner = real.index(next(o for o in real if o[0] == "ok"))
        if winner % 2 == 0:  # a confirm won
            assert hold.status == "confirmed" and hold.appointment_id == real[winner][1]
        else:
            assert hold.status == "released" and hold.appointment_id is None
    booked = list_appointments(ctx, AppointmentFilter(limit=100)).items
    assert len(booked) == sum(1 for h in holds if get_hold(ctx, h).status == "confirmed")


def test_two_appointments_moved_into_one_free_time_only_one_gets_it(desks, url, ctx):
    for day in weekdays(5):
        first = _book(ctx, "cli_sarah", at(day, 14))
        second = _book(ctx, "cli_sarah", at(day, 15))
        outcomes = desks.race(url, [("move", first, at(day, 16)), ("move", second, at(day, 16))])
        assert count(outcomes[:2], "ok") == 1 and ("refused", "SLOT_UNAVAILABLE") in outcomes[:2], outcomes


def test_a_move_racing_holds_for_the_same_time_has_one_winner(desks, url, ctx):
    """One desk moves Sarah's 14:00 to 16:00 (a hold made for the move, then the move), while
    three desks hold 16:00 with Sarah or Tom (both need Consulting Room 1). One of them wins:
    either the appointment is at 16:00 and every hold was refused, or one hold has 16:00 and
    the appointment is still at 14:00, untouched."""
    for round_, day in enumerate(weekdays(10)):
        appointment = _confirm(ctx, _hold(ctx, "cli_sarah", at(day, 14)))
        holders = [("hold", "cli_tom" if i % 2 else "cli_sarah", at(day, 16)) for i in range(3)]
        mover = ("move_by_hold", appointment, "cli_sarah", at(day, 16))
        tasks = holders[:round_ % 4] + [mover] + holders[round_ % 4:]  # the mover starts from each place
        outcomes = desks.race(url, tasks)[:4]
        assert count(outcomes, "ok") == 1, (round_, outcomes)
        assert {o for o in outcomes if o[0] == "refused"} == {("refused", "SLOT_UNAVAILABLE")}, outcomes
        moved = outcomes[round_ % 4][0] == "ok"
        start = get_appointment(ctx, appointment).start_time
        assert start == (at(day, 16) if moved else at(day, 14)), (round_, outcomes)
        assert double_bookings(ctx) == [], round_


def test_one_idempotency_key_sent_from_four_desks_makes_one_appointment(desks, url, ctx):
    outcomes = desks.race(url, [("book", "cli_tom", at(date(2025, 1, 22), 12), "same-key")] * 4)
    assert {o for o in outcomes[:4]} == {outcomes[0]} and outcomes[0][0] == "ok", outcomes
    assert len(list_appointments(ctx, AppointmentFilter()).items) == 1


def double_bookings(ctx, with_holds: bool = True) -> list[tuple[str, str, str]]:
    """(resource, booking, booking) of every two active appointments (and holds unexpired by
    `ctx`'s clock) that share a resource at overlapping padded times, read from the bookings
    themselves, not from busy_times (which the database guards); plus any active appointment
    that takes no time."""
    from sqlalchemy import select

    from frontdesk.domain.statuses import ACTIVE_APPOINTMENT_STATUSES
    from frontdesk.store.models import (
        Appointment,
        AppointmentType,
        BusyTime,
        Hold,
        appointment_resources,
        hold_resources,
    )

    with ctx.db.session(write=False) as s:
        pads = {t.id: (timedelta(minutes=t.padding_before_minutes or 0), timedelta(minutes=t.padding_after_minutes or 0))
                for t in s.scalars(select(AppointmentType))}
        spans: dict[str, list] = {}
        kinds = [(Appointment, appointment_resources, "appointment_id", Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES))]
        if with_holds:
            kinds.append((Hold, hold_resources, "hold_id", (Hold.status == "active") & (Hold.expires_at > ctx.clock.now())))
        for model, link, key, active in kinds:
            rows = s.execute(select(model.id, model.start_time, model.end_time, model.appointment_type_id,
                                    link.c.resource_id).join(link, link.c[key] == model.id).where(active))
            for booking_id, start, end, type_id, resource_id in rows:
                before, after = pads.get(type_id, (timedelta(0), timedelta(0)))
                spans.setdefault(resource_id, []).append((start - before, end + after, booking_id))
        taking = set(s.scalars(select(BusyTime.appointment_id).where(BusyTime.appointment_id.is_not(None))))
        idle = [("-", a, "takes no time") for a in s.scalars(select(Appointment.id).where(
            Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES))) if a not in taking]
    clashes = [
        (resource, a[2], b[2])
        for resource, items in spans.items()
        for i, a in enumerate(items) for b in items[i + 1:]
        if a[0] < b[1] and b[0] < a[1]
    ]
    return clashes + idle


def test_confirms_of_overlapping_holds_with_clocks_either_side_of_expiry_never_double_book(desks, url, ctx):
    """The issue's reproduction, raced: each round eight holds on one room at overlapping
    times, each made after the one before had expired (desk clocks 16 minutes apart); then all
    eight desks confirm at once, each with a clock before its own hold's expiry (a minute
    in, or a second short of it) or at and after it. Only the last hold still has its slot:
    it alone is confirmed when its desk is in time, every other confirm is HOLD_EXPIRED (by its
    own clock) or SLOT_UNAVAILABLE, and no two appointments ever share a time."""
    rng = random.Random(9)
    booked = 0
    for round_, day in enumerate(weekdays(10)):
        tasks, expected = [], []
        for i in range(WORKERS):
            made = at(day, 9) + timedelta(minutes=16 * i)  # the hold before has just expired
            ctx.clock.set(made)
            clinician, start = rng.choice([("cli_sarah", at(day, 14)), ("cli_tom", at(day, 14, 10)), ("cli_sarah", at(day, 13, 50))])
            hold = _hold(ctx, clinician, start)
            late = rng.random() < (0.2 if i == WORKERS - 1 else 0.4)
            clock = made + (rng.choice([timedelta(minutes=15), timedelta(minutes=16)]) if late
                            else rng.choice([timedelta(minutes=1), timedelta(minutes=14, seconds=59)]))
            tasks.append(("confirm_at", hold, clock))
            expected.append("HOLD_EXPIRED" if late else "ok" if i == WORKERS - 1 else "SLOT_UNAVAILABLE")
        ctx.clock.set(NOW)
        outcomes = desks.race(url, tasks)
        count(outcomes, "ok")  # no crash
        assert [o[0] if o[0] == "ok" else o[1] for o in outcomes] == expected, (round_, outcomes)
        booked += expected[-1] == "ok"
        assert double_bookings(ctx, with_holds=False) == [], round_
    assert len(list_appointments(ctx, AppointmentFilter(limit=100)).items) == booked


def _reload_with(appointment_id: str, start: datetime) -> dict:
    """The clinic file again, now with one appointment of Sarah's in Room 1."""
    data = copy.deepcopy(CLINIC)
    data["appointments"] = [{
        "id": appointment_id, "patient_id": "pat_mary_jones", "clinician_profile_id": "cli_sarah",
        "appointment_type_id": "type_followup", "location_id": "loc_central", "status": "confirmed",
        "start_time": start.isoformat(), "end_time": (start + timedelta(minutes=30)).isoformat(),
        "resource_ids": ["res_room_1"],
    }]
    return data


def test_a_hold_a_direct_create_and_a_reload_racing_for_one_time_have_one_winner(desks, url, ctx):
    """Two holds, two direct creates and two reloads of the clinic file, each of whose one
    appointment takes the same time of Sarah's: exactly one of the six gets it. A refused
    reload loads nothing and names the clash."""
    for round_, day in enumerate(weekdays(8)):
        files = [f"apt_file_{round_}_a", f"apt_file_{round_}_b"]
        tasks = [
            ("hold", "cli_sarah", at(day, 10)),
            ("book", "cli_sarah", at(day, 10, 10)),
            ("load", _reload_with(files[0], at(day, 10))),
            ("hold", "cli_sarah", at(day, 10)),
            ("book", "cli_sarah", at(day, 9, 45)),
            ("load", _reload_with(files[1], at(day, 10, 5))),
        ]
        order = list(range(len(tasks)))
        random.Random(round_).shuffle(order)  # which desk runs which task changes each round
        outcomes = [None] * len(tasks)
        for slot, outcome in zip(order, desks.race(url, [tasks[i] for i in order])):
            outcomes[slot] = outcome
        assert count(outcomes, "ok") == 1, (round_, outcomes)
        winner = next(o[1] for o in outcomes if o[0] == "ok")
        for (name, *_), outcome in zip(tasks, outcomes):
            if outcome[0] == "ok":
                continue
            assert outcome[1] in ({"SLOT_UNAVAILABLE", "VALIDATION_ERROR"} if name == "load" else {"SLOT_UNAVAILABLE"}), outcome
        assert double_bookings(ctx) == [], round_
        booked = [a.id for a in list_appointments(ctx, AppointmentFilter(limit=100, date_gte=at(day, 0))).items
                  if a.start_time.date() == day]
        holds = [h for h, start, _ in active_holds(ctx) if start.date() == day]
        assert booked + holds == [winner], (round_, booked, holds, winner)


def test_eight_desks_racing_for_three_seats_of_a_class_get_exactly_three(desks, url, ctx):
    """Issue 12: every desk holds and confirms a seat of one class (capacity 3) for a new
    patient; three get in, one group appointment holds them, the rest are SLOT_UNAVAILABLE."""
    for day in weekdays(4):
        outcomes = desks.race(url, [("seat", at(day, 10), f"Desk{i}") for i in range(WORKERS)])
        assert count(outcomes, "ok") == 3, outcomes
        assert {o for o in outcomes if o[0] == "refused"} == {("refused", "SLOT_UNAVAILABLE")}
        assert len({o[1] for o in outcomes if o[0] == "ok"}) == 1  # one group, not three
        group = get_appointment(ctx, next(o[1] for o in outcomes if o[0] == "ok"))
        assert [a.attendance_status for a in group.attendees] == ["going"] * 3


def test_desks_adding_attendees_to_a_class_never_overfill_it(desks, url, ctx):
    """Six desks add six patients to a class with one seat taken: exactly two more fit."""
    data = copy.deepcopy(CLINIC)
    patients = [f"pat_racer_{i}" for i in range(6)]
    data["patients"] += [{"id": pid, "first_name": "P", "last_name": "Racer"} for pid in patients]
    load(ctx, data)
    for day in weekdays(3):
        group = _seat(ctx, at(day, 11), "First")
        outcomes = desks.race(url, [("add_attendee", group, pid) for pid in patients])
        assert count(outcomes[:6], "ok") == 2, outcomes
        assert {o for o in outcomes[:6] if o[0] == "refused"} == {("refused", "SLOT_UNAVAILABLE")}
        assert len(get_appointment(ctx, group).attendees) == 3


def test_a_refused_reload_names_the_clash(ctx):
    """What the loser of the race above is told, when it is the reload (not left to chance)."""
    day = date(2025, 1, 21)
    hold_id = _hold(ctx, "cli_sarah", at(day, 10))
    with pytest.raises(FrontdeskError) as caught:
        _load(ctx, _reload_with("apt_late", at(day, 10, 5)))
    assert caught.value.code == "VALIDATION_ERROR"
    assert any("apt_late" in e and hold_id in e for e in caught.value.details["errors"]), caught.value.details
    assert list_appointments(ctx, AppointmentFilter(limit=100)).items == []


# --- a process killed in the middle of a confirm -----------------------------------------

CONFIRM_SCRIPT = """
import sys, time
from datetime import datetime
from pathlib import Path
from frontdesk.clock import FakeClock
from frontdesk.services import holds
from frontdesk.services.context import Context
from frontdesk.services.objects import ConfirmRequest, NewPatient
if len(sys.argv) > 4:  # pause once everything is written, before the commit, to be killed there
    take_time = holds.take_time
    def take_time_then_wait(*args, **kwargs):
        take_time(*args, **kwargs)
        Path(sys.argv[4]).touch()
        time.sleep(60)
    holds.take_time = take_time_then_wait
ctx = Context.open(sys.argv[1], clock=FakeClock(datetime.fromisoformat(sys.argv[3])), operator="doomed")
holds.confirm_hold(ctx, sys.argv[2], ConfirmRequest(new_patient=NewPatient("Crash", "Victim")))
"""


def _start_confirm(url: str, hold_id: str, pause_marker: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CONFIRM_SCRIPT, url, hold_id, NOW.isoformat(), *([str(pause_marker)] if pause_marker else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def _state(ctx, hold_id: str) -> tuple[str, int, int]:
    hold = get_hold(ctx, hold_id)
    booked = [a for a in list_appointments(ctx, AppointmentFilter(limit=100)).items if a.hold_id == hold_id]
    victims = search_patients(ctx, "crash victim").items
    return hold.status, len(booked), len(victims)


def test_killed_after_writing_but_before_commit_leaves_the_hold_active_and_nothing_else(url, ctx, tmp_path):
    hold_id = _hold(ctx, "cli_sarah", at(date(2025, 1, 21), 9))
    marker = tmp_path / "reached"
    process = _start_confirm(url, hold_id, pause_marker=marker)
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "the confirm never reached its pause"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()

    assert _state(ctx, hold_id) == ("active", 0, 0)
    # The dead process's lock is gone: another desk confirms at once.
    made = confirm_hold(ctx, hold_id, ConfirmRequest(patient_id="pat_john_smith"))
    assert _state(ctx, hold_id) == ("confirmed", 1, 0) and made.hold_id == hold_id


def test_killed_at_random_moments_a_confirm_is_all_or_nothing(url, ctx):
    rng = random.Random(4)
    confirmed = 0
    for n, day in enumerate(weekdays(6)):
        hold_id = _hold(ctx, "cli_tom", at(day, 9))
        process = _start_confirm(url, hold_id)
        time.sleep(rng.uniform(0.2, 1.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
        status, booked, _ = _state(ctx, hold_id)
        assert (status, booked) in {("active", 0), ("confirmed", 1)}, (n, status, booked)
        confirmed += booked
        # A new patient exists exactly for each confirm that finished.
        assert len(search_patients(ctx, "crash victim").items) == confirmed
