"""Never a double booking: real processes racing on one database, SQLite file and PostgreSQL.

Eight long-lived worker processes (spawned, each with its own connection) take one task
each per round and wait on a barrier, so their calls really start together.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta

import pytest
from booking_clinic import load, utc

from frontdesk.clock import FakeClock
from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.appointments import (
    create_appointment,
    list_appointments,
    update_appointment,
)
from frontdesk.services.context import Context
from frontdesk.services.holds import confirm_hold, create_hold, get_hold, release_hold
from frontdesk.services.objects import (
    AppointmentCreate,
    AppointmentFilter,
    ConfirmRequest,
    HoldRequest,
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


def _noop(ctx) -> str:
    return "idle"


TASKS = {"hold": _hold, "book": _book, "confirm": _confirm, "release": _release, "move": _move, "noop": _noop}


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


def test_one_idempotency_key_sent_from_four_desks_makes_one_appointment(desks, url, ctx):
    outcomes = desks.race(url, [("book", "cli_tom", at(date(2025, 1, 22), 12), "same-key")] * 4)
    assert {o for o in outcomes[:4]} == {outcomes[0]} and outcomes[0][0] == "ok", outcomes
    assert len(list_appointments(ctx, AppointmentFilter()).items) == 1


# --- a process killed in the middle of a confirm -----------------------------------------

CONFIRM_SCRIPT = """
import sys
from datetime import datetime
from frontdesk.clock import FakeClock
from frontdesk.services.context import Context
from frontdesk.services.holds import confirm_hold
from frontdesk.services.objects import ConfirmRequest, NewPatient
ctx = Context.open(sys.argv[1], clock=FakeClock(datetime.fromisoformat(sys.argv[3])), operator="doomed")
confirm_hold(ctx, sys.argv[2], ConfirmRequest(new_patient=NewPatient("Crash", "Victim")))
"""


def _start_confirm(url: str, hold_id: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CONFIRM_SCRIPT, url, hold_id, NOW.isoformat()],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def _state(ctx, hold_id: str) -> tuple[str, int, int]:
    hold = get_hold(ctx, hold_id)
    booked = [a for a in list_appointments(ctx, AppointmentFilter(limit=100)).items if a.hold_id == hold_id]
    victims = search_patients(ctx, "crash victim").items
    return hold.status, len(booked), len(victims)


def test_killed_after_writing_but_before_commit_leaves_the_hold_active_and_nothing_else(url, ctx, tmp_path):
    hold_id = _hold(ctx, "cli_sarah", at(date(2025, 1, 21), 9))
    marker = tmp_path / "reached"
    process = _start_confirm(url, hold_id, FRONTDESK_TEST_CONFIRM_PAUSE=str(marker))
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
