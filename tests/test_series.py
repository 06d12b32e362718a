"""Series, held as one (booking.md "Series"): one hold over every occurrence of an RRULE, all
or nothing unless skip_conflicts, booked as one appointment per occurrence, cancelled and
edited with a scope. Services, the command line, and a race between real processes.
"""

from __future__ import annotations

import json
import multiprocessing
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from booking_clinic import CLINIC, load, utc
from sqlalchemy import select

from frontdesk.cli.main import main
from frontdesk.clock import FakeClock
from frontdesk.domain import series
from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.appointments import (
    act_on_appointment,
    cancel_appointment,
    create_appointment,
    get_appointment,
    update_appointment,
    update_in_scope,
)
from frontdesk.services.context import Context
from frontdesk.services.holds import confirm_hold, create_hold, extend_hold, get_hold, list_holds, release_hold
from frontdesk.services.objects import AppointmentCreate, ConfirmRequest, HoldFilter, HoldRequest
from frontdesk.store.models import Appointment, BusyTime

LONDON = ZoneInfo("Europe/London")
NOW = utc(2025, 1, 20, 8)
MONDAY = utc(2025, 1, 27, 10)  # London is on UTC in winter: 10:00 local
WEEKLY4 = "FREQ=WEEKLY;COUNT=4"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    return f"sqlite:///{tmp_path / 's.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")


@pytest.fixture
def desk(url):
    ctx = Context.open(url, clock=FakeClock(NOW), operator="reception")
    load(ctx)
    yield ctx
    ctx.db.dispose()


def ask(start=MONDAY, clinician="cli_sarah", rrule=WEEKLY4, **fields) -> HoldRequest:
    return HoldRequest("type_followup", clinician, start=start, location_id="loc_central", rrule=rrule, **fields)


def refused(code: str, call, *args, **kwargs) -> FrontdeskError:
    with pytest.raises(FrontdeskError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.to_dict()
    return caught.value


def busy_rows(ctx) -> list[tuple]:
    with ctx.db.session() as s:
        b = BusyTime.__table__.c
        return list(s.execute(select(b.resource_id, b.busy_start, b.hold_id, b.appointment_id)))


def book_walk_in(ctx, start: datetime, clinician="cli_sarah") -> str:
    return create_appointment(ctx, AppointmentCreate(title="Walk-in", start_time=start, end_time=start + timedelta(minutes=30),
                                                     clinician_profile_id=clinician)).id


def booked_series(ctx, count: int = 4) -> list[str]:
    hold = create_hold(ctx, ask(rrule=f"FREQ=WEEKLY;COUNT={count}"))
    confirm_hold(ctx, hold.id, ConfirmRequest(patient_id="pat_john_smith"))
    return get_hold(ctx, hold.id).appointment_ids


# --- the rule ----------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["FREQ=WEEKLY", "FREQ=WEEKLY;COUNT=53", "FREQ=DAILY;UNTIL=20260101", "weekly please",
                                  "FREQ=WEEKLY;COUNT=0", "FREQ=FORTNIGHTLY;COUNT=3", "", "FREQ=WEEKLY;BYDAY=TU;COUNT=3"])
def test_a_bad_rule_is_a_validation_error_naming_rrule_and_nothing_is_held(desk, rule):
    error = refused("VALIDATION_ERROR", create_hold, desk, ask(rrule=rule))
    assert error.details["field"] == "rrule"
    assert list_holds(desk, HoldFilter()).items == []
    assert busy_rows(desk) == []


def test_52_occurrences_are_allowed_and_53_are_not():
    start, length = utc(2025, 1, 27, 10), timedelta(minutes=30)
    assert len(series.expand("FREQ=WEEKLY;COUNT=52", start, length, LONDON)) == 52
    assert len(series.expand("FREQ=WEEKLY;UNTIL=20260119T100000Z", start, length, LONDON)) == 52
    with pytest.raises(FrontdeskError, match="more than 52"):
        series.expand("FREQ=WEEKLY;UNTIL=20260126T100000Z", start, length, LONDON)


def test_occurrences_that_run_into_each_other_with_padding_are_refused():
    # 30 minutes and 10 of padding after: every 35 minutes would stand in its own way.
    with pytest.raises(FrontdeskError) as caught:
        series.expand("FREQ=HOURLY;COUNT=3", utc(2025, 1, 27, 10), timedelta(minutes=55), LONDON, gap=timedelta(minutes=10))
    assert caught.value.details["field"] == "rrule"


def test_a_weekly_nine_oclock_stays_nine_oclock_in_london_across_the_march_clock_change(desk):
    hold = create_hold(desk, ask(start=utc(2025, 3, 17, 9)))  # GMT; the clocks go forward on 30 March
    starts = [datetime.fromisoformat(o["start_time"]) for o in hold.occurrences]
    assert [s.astimezone(LONDON).strftime("%a %d %b %H:%M") for s in starts] == [
        "Mon 17 Mar 09:00", "Mon 24 Mar 09:00", "Mon 31 Mar 09:00", "Mon 07 Apr 09:00"]
    assert [s.hour for s in starts] == [9, 9, 8, 8]  # in UTC: BST is an hour ahead


def test_a_wall_time_in_the_spring_gap_moves_forward_and_a_repeated_one_means_the_first():
    daily = series.expand("FREQ=DAILY;COUNT=3", utc(2025, 3, 29, 1, 30), timedelta(minutes=30), LONDON)
    assert [o.start for o in daily] == [utc(2025, 3, 29, 1, 30), utc(2025, 3, 30, 1, 30), utc(2025, 3, 31, 0, 30)]
    # 01:30 on 30 March does not exist: it moves to 02:30 BST (01:30Z).
    autumn = series.expand("FREQ=DAILY;COUNT=2", utc(2025, 10, 25, 0, 30), timedelta(minutes=30), LONDON)
    assert autumn[1].start == utc(2025, 10, 26, 0, 30)  # 01:30 BST, the first of the two 01:30s


# --- holding -----------------------------------------------------------------------------


def test_a_series_is_one_hold_with_one_countdown_over_every_occurrence(desk):
    hold = create_hold(desk, ask())
    assert hold.series_rule == WEEKLY4 and hold.skipped == []
    assert [(o["index"], o["start_time"]) for o in hold.occurrences] == [
        (n, f"2025-{d}T10:00:00Z") for n, d in enumerate(["01-27", "02-03", "02-10", "02-17"])]
    assert hold.start_time == MONDAY and hold.expires_at == NOW + timedelta(minutes=15)
    assert list_holds(desk, HoldFilter()).items[0].id == hold.id and len(list_holds(desk, HoldFilter()).items) == 1
    # Every occurrence is busy for the clinician and the room, under the hold.
    rows = busy_rows(desk)
    assert {(r[0], r[1]) for r in rows} == {
        (rid, MONDAY + timedelta(weeks=w)) for w in range(4) for rid in ("cli_sarah", "res_room_1")}
    assert {r[2] for r in rows} == {hold.id}
    # So Tom, who needs the same room, cannot have the third Monday.
    refused("SLOT_UNAVAILABLE", create_hold, desk, ask(start=MONDAY + timedelta(weeks=2), clinician="cli_tom", rrule=None))


def test_a_hold_of_one_slot_has_no_series_fields(desk):
    hold = create_hold(desk, ask(rrule=None))
    assert (hold.series_rule, hold.occurrences, hold.skipped) == (None, None, [])


def test_all_or_nothing_names_each_occurrence_that_is_not_free_and_holds_nothing(desk):
    book_walk_in(desk, MONDAY + timedelta(weeks=2))
    before = busy_rows(desk)
    error = refused("SLOT_UNAVAILABLE", create_hold, desk, ask())
    assert error.details["conflicts"] == [
        {"index": 2, "start_time": "2025-02-10T10:00:00Z", "end_time": "2025-02-10T10:30:00Z", "reason": "taken"}]
    assert list_holds(desk, HoldFilter()).items == []
    assert busy_rows(desk) == before


def test_the_reasons_a_desk_reads(desk):
    # Sarah's lunch is 12:30-13:15 on weekdays: blocked.
    lunch = refused("SLOT_UNAVAILABLE", create_hold, desk, ask(start=utc(2025, 1, 27, 12, 30), rrule="FREQ=WEEKLY;COUNT=2"))
    assert {c["reason"] for c in lunch.details["conflicts"]} == {series.BLOCKED}
    # Daily from a Friday: Saturday and Sunday are outside her hours.
    weekend = refused("SLOT_UNAVAILABLE", create_hold, desk, ask(start=utc(2025, 1, 31, 10), rrule="FREQ=DAILY;COUNT=4",
                                                                skip_conflicts=False))
    assert [(c["index"], c["reason"]) for c in weekend.details["conflicts"]] == [(1, series.OUTSIDE_HOURS), (2, series.OUTSIDE_HOURS)]
    # Started before now.
    past = refused("SLOT_UNAVAILABLE", create_hold, desk, ask(start=utc(2025, 1, 13, 10), rrule="FREQ=WEEKLY;COUNT=2"))
    assert [(c["index"], c["reason"]) for c in past.details["conflicts"]] == [(0, series.IN_THE_PAST)]
    # Tom is free but the room he needs is Sarah's at that time.
    create_hold(desk, ask(rrule=None))
    room = refused("SLOT_UNAVAILABLE", create_hold, desk, ask(clinician="cli_tom", rrule="FREQ=WEEKLY;COUNT=2"))
    assert [(c["index"], c["reason"]) for c in room.details["conflicts"]] == [(0, series.NO_ROOM)]


def test_skip_conflicts_holds_the_free_occurrences_and_lists_the_others(desk):
    book_walk_in(desk, MONDAY + timedelta(weeks=1))
    hold = create_hold(desk, ask(skip_conflicts=True))
    assert [o["index"] for o in hold.occurrences] == [0, 2, 3]
    assert hold.skipped == [{"index": 1, "start_time": "2025-02-03T10:00:00Z", "end_time": "2025-02-03T10:30:00Z",
                             "reason": "taken"}]
    assert len({r[1] for r in busy_rows(desk) if r[2] == hold.id}) == 3


def test_skip_conflicts_with_nothing_free_is_slot_unavailable(desk):
    error = refused("SLOT_UNAVAILABLE", create_hold, desk, ask(start=utc(2025, 1, 27, 12, 30), rrule="FREQ=WEEKLY;COUNT=3",
                                                              skip_conflicts=True))
    assert len(error.details["conflicts"]) == 3
    assert list_holds(desk, HoldFilter()).items == []


def test_a_move_cannot_hold_a_series(desk):
    appointment = book_walk_in(desk, utc(2025, 1, 28, 10))
    error = refused("VALIDATION_ERROR", create_hold, desk, ask(reschedule_appointment_id=appointment))
    assert error.details["field"] == "rrule"


def test_release_gives_back_every_occurrence(desk):
    hold = create_hold(desk, ask())
    release_hold(desk, hold.id)
    assert busy_rows(desk) == []
    create_hold(desk, ask(start=MONDAY + timedelta(weeks=3), clinician="cli_tom", rrule=None))


def test_expiry_frees_every_occurrence_and_an_extension_keeps_them_all(desk):
    hold = create_hold(desk, ask())
    extended = extend_hold(desk, hold.id)
    assert extended.occurrences == hold.occurrences
    desk.clock.set(hold.expires_at + timedelta(minutes=1))  # past the first expiry, not the second
    refused("SLOT_UNAVAILABLE", create_hold, desk, ask(start=MONDAY + timedelta(weeks=3), clinician="cli_tom", rrule=None))
    desk.clock.set(extended.expires_at)
    assert get_hold(desk, hold.id).status == "expired"
    create_hold(desk, ask(start=MONDAY + timedelta(weeks=3), clinician="cli_tom", rrule=None))


# --- confirming ----------------------------------------------------------------------------


def test_confirm_books_every_held_occurrence_as_its_own_appointment_in_one_series(desk):
    book_walk_in(desk, MONDAY + timedelta(weeks=1))
    hold = create_hold(desk, ask(skip_conflicts=True))
    first = confirm_hold(desk, hold.id, ConfirmRequest(patient_id="pat_john_smith"))
    after = get_hold(desk, hold.id)
    assert after.status == "confirmed" and after.appointment_id == first.id
    assert after.appointment_ids[0] == first.id and len(after.appointment_ids) == 3
    views = [get_appointment(desk, i) for i in after.appointment_ids]
    series_id = first.recurring["series_id"]
    assert series_id.startswith("ser_")
    assert [v.recurring for v in views] == [
        {"is_recurring": True, "series_id": series_id, "rule": WEEKLY4, "index": n} for n in range(3)]
    assert [v.start_time for v in views] == [MONDAY, MONDAY + timedelta(weeks=2), MONDAY + timedelta(weeks=3)]
    assert {(v.status, v.patient_id) for v in views} == {("confirmed", "pat_john_smith")}
    # The time is the appointments' now, not the hold's.
    rows = busy_rows(desk)
    assert all(r[2] is None for r in rows)
    assert {r[3] for r in rows if r[1] >= MONDAY} == set(after.appointment_ids) | {
        r[3] for r in rows if r[1] == MONDAY + timedelta(weeks=1)}


def test_a_confirm_that_finds_one_occurrence_taken_books_none(desk):
    hold = create_hold(desk, ask())
    desk.clock.set(hold.expires_at + timedelta(minutes=1))
    taker = create_hold(desk, ask(start=MONDAY + timedelta(weeks=3), clinician="cli_tom", rrule=None))
    desk.clock.set(NOW + timedelta(minutes=5))  # a desk whose clock says the series hold is still in force
    refused("SLOT_UNAVAILABLE", confirm_hold, desk, hold.id, ConfirmRequest(patient_id="pat_john_smith"))
    with desk.db.session() as s:
        assert s.scalars(select(Appointment.id)).all() == []
    assert get_hold(desk, taker.id).status == "active"


# --- scope -----------------------------------------------------------------------------------


def test_cancel_one_is_the_default_and_cancels_only_that_occurrence(desk):
    ids = booked_series(desk)
    result = cancel_appointment(desk, ids[1], "away")
    assert result.series is None
    assert [get_appointment(desk, i).status for i in ids] == ["confirmed", "cancelled", "confirmed", "confirmed"]


def test_cancel_following_cancels_this_and_later_occurrences_in_one_go(desk):
    ids = booked_series(desk)
    result = cancel_appointment(desk, ids[1], "moving away", scope="following")
    assert result.appointment.id == ids[1]
    assert result.series.changed == ids[1:] and result.series.left_as_is == []
    views = [get_appointment(desk, i) for i in ids]
    assert [v.status for v in views] == ["confirmed", "cancelled", "cancelled", "cancelled"]
    assert {v.cancellation_reason for v in views[1:]} == {"moving away"}
    # Their time is free again; the first's is not.
    create_hold(desk, ask(start=MONDAY + timedelta(weeks=2), clinician="cli_tom", rrule=None))
    refused("SLOT_UNAVAILABLE", create_hold, desk, ask(clinician="cli_tom", rrule=None))


def test_cancel_all_leaves_completed_and_cancelled_occurrences_as_they_are_and_names_them(desk):
    ids = booked_series(desk)
    cancel_appointment(desk, ids[2], "ill")
    desk.clock.set(MONDAY - timedelta(minutes=5))
    act_on_appointment(desk, ids[0], "check-in")
    act_on_appointment(desk, ids[0], "complete")
    result = cancel_appointment(desk, ids[1], "stopping", scope="all")
    assert result.series.changed == [ids[1], ids[3]]
    assert result.series.left_as_is == [{"id": ids[0], "index": 0, "status": "completed"},
                                        {"id": ids[2], "index": 2, "status": "cancelled"}]
    assert get_appointment(desk, ids[2]).cancellation_reason == "ill"
    assert get_appointment(desk, ids[0]).status == "completed"


def test_cancel_in_scope_with_nothing_left_to_cancel_is_refused(desk):
    ids = booked_series(desk, 2)
    cancel_appointment(desk, ids[0], None, scope="all")
    refused("INVALID_STATE_TRANSITION", cancel_appointment, desk, ids[0], None, scope="following")


def test_expect_version_is_the_named_appointments_and_a_stale_one_changes_nothing(desk):
    ids = booked_series(desk)
    named = get_appointment(desk, ids[1])
    update_appointment(desk, ids[1], {"description": "bring the scan"})
    refused("VERSION_CONFLICT", cancel_appointment, desk, ids[1], None, expect_version=named.version, scope="all")
    assert {get_appointment(desk, i).status for i in ids} == {"confirmed"}
    result = cancel_appointment(desk, ids[1], None, expect_version=named.version + 1, scope="all")
    assert len(result.series.changed) == 4


def test_text_edits_with_a_scope_reach_the_active_occurrences(desk):
    ids = booked_series(desk)
    cancel_appointment(desk, ids[3], None)
    result = update_in_scope(desk, ids[1], {"title": "Knee physio", "attendee_name": "J. Smith"}, scope="following")
    assert result.series.changed == ids[1:3]
    assert result.series.left_as_is == [{"id": ids[3], "index": 3, "status": "cancelled"}]
    titles = [get_appointment(desk, i).title for i in ids]
    assert titles == ["Follow-up Consultation", "Knee physio", "Knee physio", "Follow-up Consultation"]
    changed = get_appointment(desk, ids[2])
    assert {c.field for c in changed.change_log} >= {"title", "attendee_name"}
    update_appointment(desk, ids[0], {"description": "all of them"}, scope="all")
    assert [get_appointment(desk, i).description for i in ids] == ["all of them"] * 3 + [None]


def test_a_time_change_takes_scope_one_only(desk):
    ids = booked_series(desk)
    later = MONDAY + timedelta(hours=1)
    error = refused("VALIDATION_ERROR", update_appointment, desk, ids[0],
                    {"start_time": later, "end_time": later + timedelta(minutes=30)}, scope="following")
    assert error.details["field"] == "scope"
    assert get_appointment(desk, ids[0]).start_time == MONDAY
    moved = update_appointment(desk, ids[0], {"start_time": later, "end_time": later + timedelta(minutes=30)}, scope="one")
    assert moved.start_time == later


def test_a_scope_on_an_appointment_outside_a_series_or_an_unknown_scope_is_refused(desk):
    single = book_walk_in(desk, MONDAY)
    for call in (lambda: cancel_appointment(desk, single, None, scope="all"),
                 lambda: update_appointment(desk, single, {"title": "x"}, scope="following")):
        assert refused("VALIDATION_ERROR", call).details["field"] == "scope"
    cancel_appointment(desk, single, None, scope="one")
    ids = booked_series(desk, 2)
    assert refused("VALIDATION_ERROR", cancel_appointment, desk, ids[0], None, scope="everything").details["field"] == "scope"
    assert {get_appointment(desk, i).status for i in ids} == {"confirmed"}


# --- the command line --------------------------------------------------------------------------


def cli(capsys, db: str, *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--db", db, "--now", "2025-01-20T08:00:00Z", "--operator", "desk"])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def cli_db(tmp_path, capsys) -> str:
    path, clinic = str(tmp_path / "cli.db"), tmp_path / "clinic.json"
    clinic.write_text(json.dumps(CLINIC))
    code, doc = cli(capsys, path, "load", str(clinic))
    assert code == 0, doc
    return path


def test_cli_holds_a_series_confirms_it_and_cancels_with_a_scope(capsys, cli_db):
    hold_args = ["holds", "create", "--appointment-type", "type_followup", "--clinician", "cli_sarah",
                 "--location", "loc_central", "--date", "2025-03-17", "--start-time", "09:00", "--rrule", WEEKLY4]
    code, doc = cli(capsys, cli_db, *hold_args)
    assert code == 0, doc
    hold = doc["data"]
    assert hold["series_rule"] == WEEKLY4 and hold["skipped"] == []
    assert [o["start_time"] for o in hold["occurrences"]] == [
        "2025-03-17T09:00:00Z", "2025-03-24T09:00:00Z", "2025-03-31T08:00:00Z", "2025-04-07T08:00:00Z"]

    code, doc = cli(capsys, cli_db, "holds", "confirm", hold["id"], "--patient", "pat_john_smith")
    assert code == 0, doc
    ids = doc["meta"]["appointment_ids"]
    assert len(ids) == 4 and ids[0] == doc["data"]["id"]
    assert doc["data"]["recurring"]["is_recurring"] is True and doc["data"]["recurring"]["index"] == 0

    code, doc = cli(capsys, cli_db, "appointments", "update", ids[2], "--title", "Physio", "--scope", "following")
    assert code == 0, doc
    assert doc["meta"]["series"]["changed"] == ids[2:]
    code, doc = cli(capsys, cli_db, "appointments", "cancel", ids[1], "--reason", "moved away", "--scope", "all")
    assert code == 0, doc
    assert doc["data"]["status"] == "cancelled" and doc["meta"]["series"]["changed"] == [ids[1], ids[0], *ids[2:]]
    code, doc = cli(capsys, cli_db, "appointments", "get", ids[3])
    assert (doc["data"]["status"], doc["data"]["title"]) == ("cancelled", "Physio")


def test_cli_all_or_nothing_skip_conflicts_and_bad_rules(capsys, cli_db):
    base = ["holds", "create", "--appointment-type", "type_followup", "--clinician", "cli_sarah",
            "--location", "loc_central", "--start", "2025-01-31T10:00:00Z", "--rrule", "FREQ=DAILY;COUNT=4"]
    code, doc = cli(capsys, cli_db, *base)
    assert code == 1 and doc["error"]["code"] == "SLOT_UNAVAILABLE"
    assert [c["reason"] for c in doc["error"]["details"]["conflicts"]] == ["outside working hours"] * 2
    code, doc = cli(capsys, cli_db, *base, "--skip-conflicts")
    assert code == 0 and [o["index"] for o in doc["data"]["occurrences"]] == [0, 3]
    code, doc = cli(capsys, cli_db, *base[:-1], "FREQ=DAILY")
    assert code == 1 and doc["error"]["code"] == "VALIDATION_ERROR" and doc["error"]["details"]["field"] == "rrule"
    code, doc = cli(capsys, cli_db, "appointments", "cancel", "apt_nope", "--scope", "all")
    assert code == 1 and doc["error"]["code"] == "NOT_FOUND"


# --- two desks racing with overlapping series (real processes) ---------------------------------


def _race_worker(url: str, clinician: str, start: datetime, barrier, results) -> None:
    ctx = Context.open(url, clock=FakeClock(NOW), operator=clinician)
    barrier.wait(timeout=60)
    try:
        hold = create_hold(ctx, ask(start=start, clinician=clinician, rrule="FREQ=WEEKLY;COUNT=6"))
        results.put((clinician, "ok", hold.id))
    except FrontdeskError as error:
        results.put((clinician, "refused", error.code))
    except Exception as error:  # reported to the test, which fails on it
        results.put((clinician, "crashed", repr(error)))
    finally:
        ctx.db.dispose()


def test_two_desks_holding_overlapping_series_one_wins_whole_the_other_holds_nothing(url, desk):
    """Sarah's series from 27 January and Tom's from 10 February share four Mondays and the
    one room both need: exactly one desk gets its whole series."""
    spawn = multiprocessing.get_context("spawn")
    for round_, hour in enumerate((10, 11, 14)):
        barrier, results = spawn.Barrier(2), spawn.Queue()
        workers = [
            spawn.Process(target=_race_worker, args=(url, clinician, start, barrier, results))
            for clinician, start in (("cli_sarah", utc(2025, 1, 27, hour)), ("cli_tom", utc(2025, 2, 10, hour)))
        ]
        for worker in workers:
            worker.start()
        outcomes = sorted(results.get(timeout=120) for _ in workers)
        for worker in workers:
            worker.join(timeout=30)
        kinds = sorted(kind for _, kind, _ in outcomes)
        assert kinds == ["ok", "refused"], (round_, outcomes)
        assert [o[2] for o in outcomes if o[1] == "refused"] == ["SLOT_UNAVAILABLE"]
    holds = list_holds(desk, HoldFilter()).items
    assert len(holds) == 3 and all(len(h.occurrences) == 6 for h in holds)
    # Nothing of a loser is held, and no resource's busy time overlaps.
    rows = busy_rows(desk)
    assert {r[2] for r in rows} == {h.id for h in holds}
    by_resource: dict[str, list[datetime]] = {}
    for resource_id, start, _, _ in rows:
        by_resource.setdefault(resource_id, []).append(start)
    for starts in by_resource.values():
        starts.sort()
        assert all(b - a >= timedelta(minutes=40) for a, b in zip(starts, starts[1:]))
