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
from frontdesk.services.holds import create_hold, list_holds
from frontdesk.services.objects import AvailabilityQuery, HoldFilter, HoldRequest

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
    # What is left: the setup's version, the busy time (blocks and rows; PostgreSQL: a first
    # look at the rows before the locks, and the lock), the three writes.
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


# --- PostgreSQL: desks racing for one slot -------------------------------------------------


@contextmanager
def just_before_locking(ctx, action):
    """Run `action` once, on its own connections, just before this desk sends its lock
    statement: what another desk commits after this desk's first look and before its locks."""
    done = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if "FOR NO KEY UPDATE" in statement and not done:
            done.append(True)
            action()

    event.listen(ctx.db.engine, "before_cursor_execute", before)
    try:
        yield done
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", before)


@pytest.fixture
def two_desks(postgres_url, clock, monkeypatch):
    monkeypatch.setenv("FRONTDESK_BUSY_TIMEOUT", "2")  # a desk that waited wrongly fails fast
    desk = Context.open(postgres_url, clock=clock, operator="desk-1")
    load(desk, CLINIC)
    other = Context.open(postgres_url, clock=clock, operator="desk-2")
    yield desk, other
    desk.db.dispose()
    other.db.dispose()


@pytest.mark.postgres
def test_a_slot_already_held_is_refused_without_waiting_for_its_locks(two_desks):
    """Another desk holds the clinician's and the room's locks (it is booking something else):
    a slot that is plainly taken is refused at once, without queueing behind it."""
    from sqlalchemy import text

    desk, other = two_desks
    hold(other, NINE)
    with other.db.engine.connect() as booking:  # another desk, mid-booking
        booking.execute(text("SELECT id FROM resources WHERE id IN ('cli_sarah', 'res_room_1') FOR NO KEY UPDATE"))
        with statements(desk) as seen, pytest.raises(FrontdeskError) as refused:
            hold(desk, NINE)
        booking.rollback()
    assert refused.value.code == "SLOT_UNAVAILABLE" and refused.value.details["reason"] == "not_free"
    assert not any("FOR NO KEY UPDATE" in s for s in seen), "\n".join(seen)


@pytest.mark.postgres
def test_a_slot_taken_while_the_desk_waited_for_its_locks_is_refused_before_blocks_are_read(two_desks):
    """Free at the desk's first look, then held by another desk before this one has the locks:
    the look again under the locks refuses it (the blocks are not read), and one hold exists."""
    desk, other = two_desks
    with just_before_locking(desk, lambda: hold(other, NINE)) as raced, statements(desk) as seen:
        with pytest.raises(FrontdeskError) as refused:
            hold(desk, NINE)
    assert raced and refused.value.code == "SLOT_UNAVAILABLE"
    assert not any("FROM blocks" in s for s in seen), "\n".join(seen)
    assert [h.created_by for h in list_holds(desk, HoldFilter()).items] == ["desk-2"]


@pytest.mark.postgres
def test_a_clinic_file_load_while_the_desk_waited_for_its_locks_refuses_the_hold_whole(two_desks):
    """The setup's version read again under the locks rides with the first read of busy
    time: a load that commits between the desk's reads and its locks is still caught."""
    from sqlalchemy import text

    desk, other = two_desks
    hold(desk, NINE + timedelta(hours=2))  # this desk has read (and keeps) the setup

    def load_commits():
        with other.db.engine.begin() as conn:
            conn.execute(text("UPDATE clinic SET setup_version = setup_version + 1"))

    with just_before_locking(desk, load_commits) as raced, pytest.raises(FrontdeskError) as refused:
        hold(desk, NINE)
    assert raced and refused.value.code == "DATABASE_BUSY"
    assert hold(desk, NINE).status == "active"  # asked again: the new setup, and held


@pytest.mark.postgres
def test_a_check_of_the_setup_left_to_a_read_that_never_came_is_made_before_answering(postgres_url, clock):
    from sqlalchemy import text

    from frontdesk.services import setup
    from frontdesk.services.locking import lock_resources, setup_checked

    desk = Context.open(postgres_url, clock=clock, operator="desk-1")
    try:
        load(desk, CLINIC)
        with pytest.raises(FrontdeskError) as refused, desk.db.session() as session:
            assert setup.appointment_type(session, "type_followup") is not None
            with desk.db.engine.begin() as other:
                other.execute(text("UPDATE clinic SET setup_version = setup_version + 1"))
            lock_resources(session, ["cli_sarah"], setup_read_with_busy_time=True)
            setup_checked(session)
        assert refused.value.code == "DATABASE_BUSY"
    finally:
        desk.db.dispose()


@pytest.mark.postgres
def test_a_pooled_connection_that_died_while_idle_is_replaced_before_use(postgres_url, clock, monkeypatch):
    """A connection given back a moment ago is used without a ping (one round trip fewer for
    each transaction); one idle longer is pinged, and a dead one (the server restarted, an
    administrator ended it) is replaced instead of failing the desk's next question."""
    from sqlalchemy import text

    from frontdesk.store import db

    desk = Context.open(postgres_url, clock=clock, operator="desk-1")
    try:
        load(desk, CLINIC)
        with desk.db.engine.connect() as conn:
            backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        dialect = desk.db.engine.dialect
        pings: list[str] = []
        ping = dialect.do_ping

        def counted(connection):
            try:
                alive = ping(connection)
            except Exception:
                alive = False
            pings.append("alive" if alive else "dead")
            return alive

        monkeypatch.setattr(dialect, "do_ping", counted)
        hold(desk, NINE)
        assert pings == []  # used a moment ago: no ping
        admin = db.Database(postgres_url)  # another process: the desk's connection sits in its pool
        with admin.engine.begin() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend}).scalar()
        admin.dispose()
        monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # as if it had sat idle a while
        assert hold(desk, NINE + timedelta(hours=1)).status == "active"
        assert pings[0] == "dead"  # the dead one was found out, and a new one used
    finally:
        desk.db.dispose()
