"""What a hold asks of the database, and that what a desk keeps of the clinic's setup never
goes stale: a desk that read the setup sees another desk's clinic-file load at its next
question."""

from __future__ import annotations

import copy
from contextlib import contextmanager
from datetime import timedelta

import pytest
from booking_clinic import CLINIC, load, utc
from sqlalchemy import event

from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.availability import query_availability
from frontdesk.services.context import Context
from frontdesk.services.holds import create_hold
from frontdesk.services.objects import AvailabilityQuery, HoldRequest

NINE = utc(2025, 1, 20, 9)
MAX_STATEMENTS = 8  # issue #16: an uncontended hold


@contextmanager
def statements(ctx):
    """The SQL statements run inside the block (BEGIN included, as SQLite's driver sends it)."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(ctx.db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", count)


def hold(ctx, start, clinician="cli_sarah"):
    return create_hold(ctx, HoldRequest("type_followup", clinician, start=start, location_id="loc_central"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk(request, tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'c.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    ctx = Context.open(url, clock=clock, operator="desk-1")
    load(ctx, CLINIC)
    yield ctx
    ctx.db.dispose()


def test_an_uncontended_hold_asks_the_database_at_most_eight_things(desk):
    hold(desk, NINE)  # the desk's first hold reads the clinic's setup
    with statements(desk) as seen:
        made = hold(desk, NINE + timedelta(hours=1))
    assert made.status == "active"
    assert len(seen) <= MAX_STATEMENTS, "\n".join(seen)
    # What is left: the setup's version, the busy time (blocks and rows), the three writes.
    assert sum(s.lstrip().upper().startswith("INSERT") for s in seen) == 3


def test_an_expired_hold_in_the_way_is_cleared_and_its_slot_held_again(desk):
    first = hold(desk, NINE)
    desk.clock.advance(minutes=16)
    with statements(desk) as seen:
        again = hold(desk, NINE)
    assert again.id != first.id and again.status == "active"
    assert any(s.lstrip().upper().startswith("DELETE") for s in seen)  # only because one was in the way


def test_a_desk_sees_another_desks_clinic_file_load_at_its_next_question(desk):
    other = Context.open(str(desk.db.engine.url.render_as_string(hide_password=False)), clock=desk.clock,
                         operator="desk-2")
    try:
        query = AvailabilityQuery(appointment_type_id="type_followup", start_date="2025-01-20",
                                  end_date="2025-01-20", clinician_id="cli_sarah", location_id="loc_central",
                                  timezone="Europe/London")
        assert NINE in {s.start_time for s in query_availability(desk, query).slots}
        hold(desk, NINE + timedelta(hours=1))  # this desk has read (and keeps) the setup now

        later = copy.deepcopy(CLINIC)
        for schedule in later["schedules"]:
            if schedule["clinician_id"] == "cli_sarah" and not schedule.get("remote"):
                schedule["start"] = "14:00"  # Sarah now starts at two
        later["appointment_types"][0]["duration_minutes"] = 60
        later["appointment_types"][0]["duration_options"] = [60]
        load(other, later)

        starts = {s.start_time for s in query_availability(desk, query).slots}
        assert starts and min(starts) == utc(2025, 1, 20, 14)
        with pytest.raises(FrontdeskError) as refused:
            hold(desk, utc(2025, 1, 20, 11))
        assert refused.value.code == "SLOT_UNAVAILABLE"
        made = hold(desk, utc(2025, 1, 20, 15))
        assert made.end_time - made.start_time == timedelta(minutes=60)  # the new length, not the kept one
    finally:
        other.db.dispose()


@pytest.mark.postgres
def test_a_hold_that_waited_out_a_clinic_file_load_is_refused_whole(postgres_url, clock):
    """PostgreSQL: a desk reads the setup, then waits for its locks while another desk's
    clinic-file load commits. What it read is no longer the setup: DATABASE_BUSY, nothing
    written (asked again, it reads the new setup)."""
    from sqlalchemy import text

    from frontdesk.services import setup
    from frontdesk.services.locking import lock_resources

    desk = Context.open(postgres_url, clock=clock, operator="desk-1")
    try:
        load(desk, CLINIC)
        with pytest.raises(FrontdeskError) as refused, desk.db.session() as session:
            assert setup.appointment_type(session, "type_followup") is not None  # read before the lock
            with desk.db.engine.begin() as other:  # the load commits while this desk waits
                other.execute(text("UPDATE clinic SET setup_version = setup_version + 1"))
            lock_resources(session, ["cli_sarah"])
        assert refused.value.code == "DATABASE_BUSY"
        assert hold(desk, NINE).status == "active"  # asked again: the new setup, and booked
    finally:
        desk.db.dispose()
