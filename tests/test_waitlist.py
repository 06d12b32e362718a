"""The waitlist (booking.md "Waitlist"): entries with their wishes, first come first, and
their offers as the availability engine answers at the moment of asking.

The booking clinic: Monday 2025-01-20, 08:00 London (UTC in winter). Dr Sarah Johnson and
Tom Baker see follow-ups (30 minutes) at Central 09:00-17:00; Sarah is remote 17:00-19:00
and has lunch 12:30-13:15.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from booking_clinic import load

from frontdesk.cli.main import main
from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.appointments import cancel_appointment, create_appointment
from frontdesk.services.attendees import add_attendee
from frontdesk.services.availability import query_availability
from frontdesk.services.holds import confirm_hold, create_hold
from frontdesk.services.objects import AppointmentCreate, AvailabilityQuery, ConfirmRequest, HoldRequest
from frontdesk.services.waitlist import (
    WaitlistRequest,
    add_entry,
    get_entry,
    list_entries,
    offers_count,
    remove_entry,
    waitlist_offers,
)

TUESDAY_TEN = datetime(2025, 1, 21, 10, 0, tzinfo=UTC)


@pytest.fixture
def clinic(ctx):
    load(ctx)
    return ctx


def wish(**fields) -> WaitlistRequest:
    fields.setdefault("patient_id", "pat_john_smith")
    fields.setdefault("appointment_type_id", "type_followup")
    return WaitlistRequest(**fields)


def refused(code: str, call, *args) -> FrontdeskError:
    with pytest.raises(FrontdeskError) as caught:
        call(*args)
    assert caught.value.code == code, caught.value.to_dict()
    return caught.value


def book(ctx, start: datetime, patient: str = "pat_mary_jones", clinician: str = "cli_sarah"):
    hold = create_hold(ctx, HoldRequest(appointment_type_id="type_followup", clinician_id=clinician, start=start,
                                        location_id="loc_central"))
    return confirm_hold(ctx, hold.id, ConfirmRequest(patient_id=patient))


def starts(item) -> list[datetime]:
    return [slot.start_time for slot in item.offers]


# --- entries ---------------------------------------------------------------------------------


def test_an_entry_keeps_every_wish_and_shows_how_long_it_has_waited(clinic):
    added = add_entry(clinic, wish(clinician_id="cli_sarah", location_id="loc_central", remote=False,
                                   earliest="2025-01-21", latest="2025-02-28", days="tue,thu",
                                   times="10:00-12:00", note="Mornings only; call her mobile"))
    clinic.clock.advance(hours=26, minutes=5)
    entry = get_entry(clinic, added.id)
    assert entry.id.startswith("wl_") and len(entry.id) > 30  # random, like other ids
    assert (entry.status, entry.patient_name, entry.clinician_id, entry.location_id, entry.remote) == (
        "waiting", "John Smith", "cli_sarah", "loc_central", False)
    assert (str(entry.earliest), str(entry.latest), entry.days, entry.times) == (
        "2025-01-21", "2025-02-28", ["tue", "thu"], "10:00-12:00")
    assert entry.note == "Mornings only; call her mobile"
    assert (entry.waited_minutes, entry.waited) == (26 * 60 + 5, "1d 2h")


def test_entries_are_listed_first_come_first(clinic):
    first = add_entry(clinic, wish(patient_id="pat_mary_jones"))
    clinic.clock.advance(minutes=5)
    second = add_entry(clinic, wish(patient_id="pat_john_smith"))
    clinic.clock.advance(minutes=5)
    third = add_entry(clinic, wish(patient_id="pat_ann_smithers"))
    remove_entry(clinic, second.id)
    page = list_entries(clinic)
    assert [e.id for e in page.items] == [first.id, third.id]
    assert [e.waited for e in page.items] == ["10m", "0m"]
    assert [e.id for e in list_entries(clinic, status="removed").items] == [second.id]
    assert [e.id for e in list_entries(clinic, patient_id="pat_ann_smithers").items] == [third.id]


@pytest.mark.parametrize(
    ("fields", "code", "named"),
    [
        ({"patient_id": "pat_nobody"}, "NOT_FOUND", "pat_nobody"),
        ({"appointment_type_id": "type_nothing"}, "NOT_FOUND", "type_nothing"),
        ({"clinician_id": "cli_nobody"}, "NOT_FOUND", "cli_nobody"),
        ({"clinician_id": "res_room_1"}, "NOT_FOUND", "res_room_1"),
        ({"location_id": "loc_nowhere"}, "NOT_FOUND", "loc_nowhere"),
        ({"earliest": "2025-02-10", "latest": "2025-02-01"}, "VALIDATION_ERROR", "latest"),
        ({"earliest": "10/02/2025"}, "VALIDATION_ERROR", "earliest"),
        ({"times": "25:00-26:00"}, "VALIDATION_ERROR", "times"),
        ({"times": "11:00-10:00"}, "VALIDATION_ERROR", "times"),
        ({"times": "10:00"}, "VALIDATION_ERROR", "times"),
        ({"days": ""}, "VALIDATION_ERROR", "days"),
        ({"days": " , "}, "VALIDATION_ERROR", "days"),
        ({"days": []}, "VALIDATION_ERROR", "days"),
        ({"days": "mon,funday"}, "VALIDATION_ERROR", "days"),
        ({"note": "call\x1b[2J"}, "VALIDATION_ERROR", "note"),
        ({"remote": True, "location_id": "loc_central"}, "VALIDATION_ERROR", "location"),
    ],
)
def test_bad_wishes_are_refused_naming_them_and_nothing_is_written(clinic, fields, code, named):
    error = refused(code, add_entry, clinic, wish(**fields))
    assert named in json.dumps(error.to_dict())
    assert list_entries(clinic, status=None).items == []


def test_an_entry_ends_once_removed(clinic):
    entry = add_entry(clinic, wish())
    clinic.clock.advance(minutes=30)
    removed = remove_entry(clinic, entry.id)
    assert (removed.status, removed.ended_at, removed.waited_minutes) == ("removed", clinic.clock.now(), 30)
    clinic.clock.advance(hours=3)
    assert get_entry(clinic, entry.id).waited_minutes == 30  # the wait stopped when it ended
    refused("INVALID_STATE_TRANSITION", remove_entry, clinic, entry.id)
    refused("NOT_FOUND", remove_entry, clinic, "wl_nothing")
    assert waitlist_offers(clinic) == []


# --- offers ----------------------------------------------------------------------------------


def test_offers_are_the_earliest_free_slots_that_fit_the_wishes(clinic):
    entry = add_entry(clinic, wish(clinician_id="cli_sarah", days="tue", times="10:00-11:00"))
    [item] = waitlist_offers(clinic)
    assert item.entry.id == entry.id
    assert starts(item) == [TUESDAY_TEN, TUESDAY_TEN + timedelta(minutes=30), TUESDAY_TEN + timedelta(days=7)]
    assert {(s.clinician_id, s.location_id, s.is_remote) for s in item.offers} == {("cli_sarah", "loc_central", False)}
    assert starts(waitlist_offers(clinic, entry.id, limit=1)[0]) == [TUESDAY_TEN]


def test_times_of_day_are_read_on_the_locations_clock(clinic):
    # New York is five hours behind London in January: Nina's remote 09:00-17:00 there.
    add_entry(clinic, wish(appointment_type_id="type_call", days="mon", times="09:00-09:30"))
    [item] = waitlist_offers(clinic, limit=2)
    assert starts(item) == [datetime(2025, 1, 20, 14, 0, tzinfo=UTC), datetime(2025, 1, 20, 14, 15, tzinfo=UTC)]


def test_an_entry_naming_no_clinician_is_offered_whoever_is_free(clinic):
    add_entry(clinic, wish(remote=False, days="mon", times="09:00-10:00"))
    [item] = waitlist_offers(clinic, limit=2)
    first = item.offers[0]
    assert first.start_time == datetime(2025, 1, 20, 9, 0, tzinfo=UTC)
    assert (first.clinician_id, first.resource_ids) == (None, ["cli_sarah", "cli_tom"])  # either will do
    book(clinic, datetime(2025, 1, 20, 9, 0, tzinfo=UTC), clinician="cli_tom")  # takes Room 1 too
    [item] = waitlist_offers(clinic, limit=2)
    assert starts(item) == [datetime(2025, 1, 27, 9, 0, tzinfo=UTC), datetime(2025, 1, 27, 9, 30, tzinfo=UTC)]


def test_a_window_bounds_the_offers(clinic):
    add_entry(clinic, wish(clinician_id="cli_tom", earliest="2025-01-23", latest="2025-01-23", times="16:00-17:00"))
    [item] = waitlist_offers(clinic, limit=5)
    assert starts(item) == [datetime(2025, 1, 23, 16, 0, tzinfo=UTC), datetime(2025, 1, 23, 16, 30, tzinfo=UTC)]
    clinic.clock.advance(minutes=1)
    add_entry(clinic, wish(clinician_id="cli_tom", earliest="2025-01-25", latest="2025-01-26"))  # a weekend
    assert starts(waitlist_offers(clinic)[1]) == []


def test_an_offer_is_never_a_slot_that_is_not_free(clinic):
    taken = book(clinic, TUESDAY_TEN)
    hold = create_hold(clinic, HoldRequest(appointment_type_id="type_followup", clinician_id="cli_sarah",
                                           start=TUESDAY_TEN + timedelta(days=7), location_id="loc_central"))
    add_entry(clinic, wish(clinician_id="cli_sarah", days="tue", times="10:00-11:00"))
    clinic.clock.advance(minutes=1)
    add_entry(clinic, wish(patient_id="pat_ann_smithers", days="tue", times="09:30-11:00"))
    offered = waitlist_offers(clinic, limit=6)
    free = query_availability(clinic, AvailabilityQuery("type_followup", "2025-01-20", "2025-02-19")).slots
    pooled = query_availability(clinic, AvailabilityQuery("type_followup", "2025-01-20", "2025-02-19",
                                                          round_robin="NONE")).slots
    for item, answer in zip(offered, (free, pooled)):
        assert len(item.offers) == 6
        assert taken.start_time not in starts(item) or item.entry.clinician_id is None
        for slot in item.offers:
            assert slot in answer  # the same slot, clinicians and all, as availability answers
    assert hold.start_time not in starts(offered[0])


def test_a_cancellation_makes_an_offer_appear(clinic):
    # Tom's Thursday afternoon is booked solid (each booking keeps 10 minutes after it); a
    # patient waits for exactly that.
    thursday = datetime(2025, 1, 23, 15, 0, tzinfo=UTC)
    booked = [book(clinic, thursday + timedelta(hours=n), clinician="cli_tom") for n in range(2)]
    add_entry(clinic, wish(clinician_id="cli_tom", earliest="2025-01-23", latest="2025-01-23", times="15:00-17:00"))
    assert starts(waitlist_offers(clinic)[0]) == []
    assert offers_count(clinic) == 0
    cancel_appointment(clinic, booked[1].id, "patient called")
    assert starts(waitlist_offers(clinic)[0]) == [thursday + timedelta(hours=1), thursday + timedelta(minutes=90)]
    assert offers_count(clinic) == 1


def test_booking_the_patient_into_a_fitting_slot_ends_the_entry(clinic):
    entry = add_entry(clinic, wish(clinician_id="cli_sarah", days="tue", times="10:00-11:00"))
    other = add_entry(clinic, wish(appointment_type_id="type_call"))
    book(clinic, datetime(2025, 1, 21, 14, 0, tzinfo=UTC), patient="pat_john_smith")  # not what they wait for
    assert get_entry(clinic, entry.id).status == "waiting"
    clinic.clock.advance(minutes=10)
    appointment = book(clinic, TUESDAY_TEN, patient="pat_john_smith")
    ended = get_entry(clinic, entry.id)
    assert (ended.status, ended.appointment_id, ended.ended_at) == ("booked", appointment.id, clinic.clock.now())
    assert get_entry(clinic, other.id).status == "waiting"  # another type: still waiting
    assert [e.id for e in list_entries(clinic).items] == [other.id]


def test_a_seat_in_a_class_ends_the_patients_wait_for_one(clinic):
    """type_class (Tom's Back Class, three seats): the patient waits for a Monday class."""
    entry = add_entry(clinic, wish(appointment_type_id="type_class", days="mon"))
    seat = create_hold(clinic, HoldRequest(appointment_type_id="type_class", clinician_id="cli_tom",
                                           start=datetime(2025, 1, 27, 10, 0, tzinfo=UTC), location_id="loc_central"))
    group = confirm_hold(clinic, seat.id, ConfirmRequest(patient_id="pat_john_smith"))
    ended = get_entry(clinic, entry.id)
    assert (ended.status, ended.appointment_id) == ("booked", group.id)


def test_a_direct_booking_or_a_seat_added_to_the_roster_ends_the_wait_too(clinic):
    one = add_entry(clinic, wish(clinician_id="cli_sarah", days="tue"))
    seat = add_entry(clinic, wish(patient_id="pat_mary_jones", appointment_type_id="type_class"))
    made = create_appointment(clinic, AppointmentCreate(
        title="Follow-up", start_time=TUESDAY_TEN, end_time=TUESDAY_TEN + timedelta(minutes=30),
        clinician_profile_id="cli_sarah", patient_id="pat_john_smith", appointment_type_id="type_followup",
        location_id="loc_central"))
    assert (get_entry(clinic, one.id).status, get_entry(clinic, one.id).appointment_id) == ("booked", made.id)
    hold = create_hold(clinic, HoldRequest(appointment_type_id="type_class", clinician_id="cli_tom",
                                           start=datetime(2025, 1, 27, 10, 0, tzinfo=UTC), location_id="loc_central"))
    group = confirm_hold(clinic, hold.id, ConfirmRequest(patient_id="pat_ann_smithers"))
    add_attendee(clinic, group.id, "pat_mary_jones")
    assert (get_entry(clinic, seat.id).status, get_entry(clinic, seat.id).appointment_id) == ("booked", group.id)


def test_offers_answer_for_one_entry_or_refuse_it(clinic):
    entry = add_entry(clinic, wish())
    refused("NOT_FOUND", waitlist_offers, clinic, "wl_nothing")
    refused("VALIDATION_ERROR", waitlist_offers, clinic, None, 0)
    remove_entry(clinic, entry.id)
    refused("INVALID_STATE_TRANSITION", waitlist_offers, clinic, entry.id)


# --- the command line --------------------------------------------------------------------------


def run(capsys, *argv: str) -> tuple[int, dict]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def db(clinic, db_url) -> list[str]:
    return ["--db", db_url, "--now", "2025-01-20T08:00:00Z"]


def test_the_waitlist_commands(capsys, db):
    code, added = run(capsys, "waitlist", "add", "--patient", "pat_john_smith", "--appointment-type", "type_followup",
                      "--clinician", "cli_sarah", "--days", "tue", "--times", "10:00-11:00", "--note", "mornings", *db)
    assert code == 0, added
    entry = added["data"]
    assert (entry["status"], entry["days"], entry["times"], entry["note"]) == ("waiting", ["tue"], "10:00-11:00", "mornings")
    code, listed = run(capsys, "waitlist", "list", *db[:2], "--now", "2025-01-20T09:30:30Z")
    assert [(e["id"], e["waited"]) for e in listed["data"]] == [(entry["id"], "1h 30m")]
    assert run(capsys, "waitlist", "get", entry["id"], *db)[1]["data"]["patient_name"] == "John Smith"
    code, offers = run(capsys, "waitlist", "offers", "--limit", "2", *db)
    assert code == 0
    [item] = offers["data"]
    assert item["entry"]["id"] == entry["id"]
    assert [s["start_time"] for s in item["offers"]] == ["2025-01-21T10:00:00Z", "2025-01-21T10:30:00Z"]
    assert run(capsys, "waitlist", "offers", entry["id"], *db)[1]["data"][0]["entry"]["id"] == entry["id"]
    code, removed = run(capsys, "waitlist", "remove", entry["id"], *db)
    assert (code, removed["data"]["status"]) == (0, "removed")
    assert run(capsys, "waitlist", "list", *db)[1]["data"] == []


@pytest.mark.parametrize(
    ("argv", "code", "named"),
    [
        (["--patient", "pat_nobody"], "NOT_FOUND", "pat_nobody"),
        (["--appointment-type", "type_nothing"], "NOT_FOUND", "type_nothing"),
        (["--earliest", "2025-02-10", "--latest", "2025-02-01"], "VALIDATION_ERROR", "latest"),
        (["--times", "25:00-26:00"], "VALIDATION_ERROR", "times"),
        (["--days", ""], "VALIDATION_ERROR", "days"),
        (["--remote", "maybe"], "VALIDATION_ERROR", "remote"),
    ],
)
def test_bad_waitlist_input_is_refused_and_nothing_written(capsys, db, argv, code, named):
    base = {"--patient": "pat_john_smith", "--appointment-type": "type_followup"}
    for flag in ("--patient", "--appointment-type"):
        if flag in argv:
            base[flag] = argv[argv.index(flag) + 1]
    rest = [a for i, a in enumerate(argv) if a not in base and (i == 0 or argv[i - 1] not in base)]
    args = ["waitlist", "add", *[x for kv in base.items() for x in kv], *rest, *db]
    exit_code = main(args)
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert exit_code in (1, 2) and doc["error"]["code"] == code
    assert named in json.dumps(doc["error"])
    assert run(capsys, "waitlist", "list", *db)[1]["data"] == []
