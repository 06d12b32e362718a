"""A held slot that grows into a series (the patient-details screen's "repeat"): the preview
of each occurrence, and `repeat_hold` turning the one hold into a series hold in one
transaction, with the same expiry. A refused repeat leaves the single hold as it was, and the
preview and the repeat always agree.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from booking_clinic import CLINIC, load, utc
from sqlalchemy import select

from frontdesk.cli.main import main
from frontdesk.clock import FakeClock
from frontdesk.domain import series
from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.appointments import create_appointment, get_appointment
from frontdesk.services.context import Context
from frontdesk.services.holds import confirm_hold, create_hold, get_hold
from frontdesk.services.objects import AppointmentCreate, ConfirmRequest, HoldRequest
from frontdesk.services.series_holds import preview_series, repeat_hold, series_size
from frontdesk.store.models import BusyTime

NOW = utc(2025, 1, 20, 8)
MONDAY = utc(2025, 1, 27, 10)  # 10:00 in London (UTC in winter)
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


def hold_one(ctx, start=MONDAY, clinician="cli_sarah", **fields):
    return create_hold(ctx, HoldRequest("type_followup", clinician, start=start, location_id="loc_central", **fields))


def walk_in(ctx, start, clinician="cli_sarah") -> str:
    return create_appointment(ctx, AppointmentCreate(title="Walk-in", start_time=start, end_time=start + timedelta(minutes=30),
                                                     clinician_profile_id=clinician)).id


def refused(code: str, call, *args, **kwargs) -> FrontdeskError:
    with pytest.raises(FrontdeskError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.to_dict()
    return caught.value


def busy_rows(ctx) -> list[tuple]:
    with ctx.db.session() as s:
        b = BusyTime.__table__.c
        return sorted(s.execute(select(b.resource_id, b.busy_start, b.busy_end, b.hold_id, b.appointment_id,
                                       b.expires_at)).all(), key=repr)


def answers(preview) -> list[tuple]:
    return [(o.index, o.start_time, o.free, o.reason) for o in preview]


# --- the preview ---------------------------------------------------------------------------------


def test_the_preview_counts_the_held_slot_as_free_and_writes_nothing(desk):
    hold = hold_one(desk)
    before = busy_rows(desk)
    preview = preview_series(desk, hold.id, WEEKLY4)
    assert answers(preview) == [(n, MONDAY + timedelta(weeks=n), True, None) for n in range(4)]
    assert all(o.end_time - o.start_time == timedelta(minutes=30) for o in preview)
    assert busy_rows(desk) == before and get_hold(desk, hold.id) == hold


def test_the_preview_names_each_clash_in_a_desks_words(desk):
    hold = hold_one(desk)
    walk_in(desk, MONDAY + timedelta(weeks=2))
    hold_one(desk, start=MONDAY + timedelta(weeks=3), clinician="cli_tom")  # Tom has the one room
    preview = preview_series(desk, hold.id, WEEKLY4)
    assert [(o.index, o.free, o.reason) for o in preview] == [
        (0, True, None), (1, True, None), (2, False, series.TAKEN), (3, False, series.NO_ROOM)]


def test_a_bad_rule_an_ended_hold_or_a_move_cannot_be_previewed_or_repeated(desk):
    hold = hold_one(desk)
    for call in (preview_series, repeat_hold):
        for rule in ("FREQ=WEEKLY", "FREQ=WEEKLY;COUNT=53", "FREQ=WEEKLY;BYDAY=TU;COUNT=3", "soon"):
            assert refused("VALIDATION_ERROR", call, desk, hold.id, rule).details["field"] == "rrule"
        refused("NOT_FOUND", call, desk, "hold_nope", WEEKLY4)
    moving = hold_one(desk, start=MONDAY + timedelta(hours=1),
                      reschedule_appointment_id=walk_in(desk, utc(2025, 1, 28, 10)))
    assert refused("VALIDATION_ERROR", repeat_hold, desk, moving.id, WEEKLY4).details["field"] == "rrule"
    assert get_hold(desk, hold.id) == hold
    desk.clock.set(hold.expires_at)
    refused("HOLD_EXPIRED", preview_series, desk, hold.id, WEEKLY4)
    refused("HOLD_EXPIRED", repeat_hold, desk, hold.id, WEEKLY4)


# --- the repeat ----------------------------------------------------------------------------------


def test_repeat_turns_the_hold_into_a_series_under_the_same_countdown(desk):
    hold = hold_one(desk)
    desk.clock.set(NOW + timedelta(minutes=6))  # the desk took a while: the countdown does not restart
    series_hold = repeat_hold(desk, hold.id, WEEKLY4)
    assert series_hold.id == hold.id and series_hold.status == "active"
    assert series_hold.expires_at == hold.expires_at == NOW + timedelta(minutes=15)
    assert series_hold.series_rule == WEEKLY4 and series_hold.skipped == []
    assert [o["start_time"] for o in series_hold.occurrences] == [
        f"2025-{d}T10:00:00Z" for d in ("01-27", "02-03", "02-10", "02-17")]
    assert series_hold.start_time == MONDAY and series_hold.resource_ids == ["cli_sarah", "res_room_1"]
    assert get_hold(desk, hold.id) == series_hold
    rows = busy_rows(desk)
    assert {(r[0], r[1]) for r in rows} == {(rid, MONDAY + timedelta(weeks=w)) for w in range(4)
                                            for rid in ("cli_sarah", "res_room_1")}
    assert {(r[3], r[5]) for r in rows} == {(hold.id, hold.expires_at)}
    # Every occurrence is now taken: Tom cannot have the room on the last Monday.
    refused("SLOT_UNAVAILABLE", hold_one, desk, start=MONDAY + timedelta(weeks=3), clinician="cli_tom")
    # A second repeat is refused: it is a series already.
    refused("VALIDATION_ERROR", repeat_hold, desk, hold.id, "FREQ=WEEKLY;COUNT=2")


def test_a_refused_repeat_leaves_the_single_hold_exactly_as_it_was(desk):
    hold = hold_one(desk)
    walk_in(desk, MONDAY + timedelta(weeks=2))
    before = busy_rows(desk)
    error = refused("SLOT_UNAVAILABLE", repeat_hold, desk, hold.id, WEEKLY4)
    assert error.details["conflicts"] == [
        {"index": 2, "start_time": "2025-02-10T10:00:00Z", "end_time": "2025-02-10T10:30:00Z", "reason": "taken"}]
    assert get_hold(desk, hold.id) == hold
    assert busy_rows(desk) == before
    # Still one held slot: Tom cannot take it, and confirming books one appointment.
    refused("SLOT_UNAVAILABLE", hold_one, desk, clinician="cli_tom")
    booked = confirm_hold(desk, hold.id, ConfirmRequest(patient_id="pat_john_smith"))
    assert booked.recurring == {"is_recurring": False} and get_hold(desk, hold.id).appointment_ids == [booked.id]


def test_skip_conflicts_holds_the_free_ones_and_confirm_books_them_all(desk):
    hold = hold_one(desk)
    walk_in(desk, MONDAY + timedelta(weeks=1))
    series_hold = repeat_hold(desk, hold.id, "FREQ=WEEKLY;COUNT=6", skip_conflicts=True)
    assert [o["index"] for o in series_hold.occurrences] == [0, 2, 3, 4, 5]
    assert [(s["index"], s["reason"]) for s in series_hold.skipped] == [(1, "taken")]
    booked = confirm_hold(desk, hold.id, ConfirmRequest(patient_id="pat_john_smith"))
    ids = get_hold(desk, hold.id).appointment_ids
    assert len(ids) == 5 and ids[0] == booked.id
    views = [get_appointment(desk, i) for i in ids]
    assert [v.recurring["index"] for v in views] == list(range(5))
    assert {v.recurring["rule"] for v in views} == {"FREQ=WEEKLY;COUNT=6"}
    assert series_size(desk, booked.recurring["series_id"]) == 5


def test_skip_conflicts_with_nothing_else_free_still_holds_the_slot_itself(desk):
    hold = hold_one(desk, start=utc(2025, 1, 31, 10))  # a Friday: the weekend days are outside hours
    series_hold = repeat_hold(desk, hold.id, "FREQ=DAILY;COUNT=3", skip_conflicts=True)
    assert [o["index"] for o in series_hold.occurrences] == [0]
    assert [s["reason"] for s in series_hold.skipped] == [series.OUTSIDE_HOURS] * 2


@pytest.mark.parametrize("setting, rule", [
    ("free", "FREQ=WEEKLY;UNTIL=20250224T235959Z"),
    ("walk-ins", "FREQ=WEEKLY;COUNT=5"),
    ("weekend", "FREQ=DAILY;COUNT=4"),
    ("room", "FREQ=WEEKLY;COUNT=4"),
])
def test_the_preview_and_the_repeat_agree(desk, setting, rule):
    start = utc(2025, 1, 31, 10) if setting == "weekend" else MONDAY
    hold = hold_one(desk, start=start)
    if setting == "walk-ins":
        walk_in(desk, MONDAY + timedelta(weeks=1))
        walk_in(desk, MONDAY + timedelta(weeks=4, minutes=20))  # 10:20: overlaps the 10:00
    if setting == "room":
        hold_one(desk, start=MONDAY + timedelta(weeks=1), clinician="cli_tom")
    preview = preview_series(desk, hold.id, rule)
    clashes = [{"index": o.index, "reason": o.reason} for o in preview if not o.free]
    try:
        held = repeat_hold(desk, hold.id, rule)
    except FrontdeskError as error:
        assert error.code == "SLOT_UNAVAILABLE" and clashes
        assert [{"index": c["index"], "reason": c["reason"]} for c in error.details["conflicts"]] == clashes
        held = repeat_hold(desk, hold.id, rule, skip_conflicts=True)
    assert [o["index"] for o in held.occurrences] == [o.index for o in preview if o.free]
    assert [{"index": s["index"], "reason": s["reason"]} for s in held.skipped] == clashes
    assert [o["start_time"] for o in held.occurrences] == [
        o.start_time.strftime("%Y-%m-%dT%H:%M:%SZ") for o in preview if o.free]


# --- the command line ------------------------------------------------------------------------------


def cli(capsys, db: str, *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--db", db, "--now", "2025-01-20T08:00:00Z", "--operator", "desk"])
    return code, json.loads(capsys.readouterr().out)


def test_cli_holds_repeat(capsys, tmp_path):
    db, clinic = str(tmp_path / "cli.db"), tmp_path / "clinic.json"
    clinic.write_text(json.dumps(CLINIC))
    assert cli(capsys, db, "load", str(clinic))[0] == 0
    code, doc = cli(capsys, db, "holds", "create", "--appointment-type", "type_followup", "--clinician", "cli_sarah",
                    "--location", "loc_central", "--start", "2025-01-31T10:00:00Z")
    assert code == 0, doc
    hold = doc["data"]
    code, doc = cli(capsys, db, "holds", "repeat", hold["id"], "--rrule", "FREQ=DAILY;COUNT=4")
    assert code == 1 and doc["error"]["code"] == "SLOT_UNAVAILABLE"
    assert [c["index"] for c in doc["error"]["details"]["conflicts"]] == [1, 2]
    code, doc = cli(capsys, db, "holds", "get", hold["id"])
    assert doc["data"]["occurrences"] is None and doc["data"]["expires_at"] == hold["expires_at"]
    code, doc = cli(capsys, db, "holds", "repeat", hold["id"], "--rrule", "FREQ=DAILY;COUNT=4", "--skip-conflicts")
    assert code == 0, doc
    assert [o["index"] for o in doc["data"]["occurrences"]] == [0, 3]
    assert doc["data"]["expires_at"] == hold["expires_at"]
    code, doc = cli(capsys, db, "holds", "repeat", hold["id"], "--rrule", "FREQ=WEEKLY")
    assert code == 1 and doc["error"]["details"]["field"] == "rrule"
