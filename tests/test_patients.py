"""Finding patients at the desk: `patients search TEXT` and `patients get ID`."""

from __future__ import annotations

import pytest
from booking_clinic import load

from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.context import Context
from frontdesk.services.patients import get_patient, search_patients


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk(request, clock, tmp_path):
    """The test clinic on SQLite and on PostgreSQL: the search is SQL, so both must agree."""
    url = f"sqlite:///{tmp_path / 'p.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    ctx = Context.open(url, clock=clock, operator="tester")
    load(ctx)
    yield ctx
    ctx.db.dispose()


def ids(page):
    return [p.id for p in page.items]


def test_name_search_ignores_case_and_finds_part_of_a_name(desk):
    assert ids(search_patients(desk, "SMITH")) == ["pat_john_smith", "pat_ann_smithers"]
    assert ids(search_patients(desk, "john smith")) == ["pat_john_smith"]
    assert ids(search_patients(desk, "Smith John")) == ["pat_john_smith"]
    assert ids(search_patients(desk, "ary")) == ["pat_mary_jones"]


def test_email_phone_and_date_of_birth_are_searched(desk):
    assert ids(search_patients(desk, "mary.jones@example.ORG")) == ["pat_mary_jones"]
    # The start of a number, however typed: both numbers begin +44 20 7946 (Mary's was stored
    # as 020 7946 0123, and is the same number written nationally).
    assert ids(search_patients(desk, "+44 20 7946 00")) == ["pat_john_smith"]
    assert ids(search_patients(desk, "+44 20 7946")) == ["pat_mary_jones", "pat_john_smith"]
    # Typed without the spaces the number was stored with.
    assert ids(search_patients(desk, "02079460123")) == ["pat_mary_jones"]
    assert ids(search_patients(desk, "1980-04-02")) == ["pat_john_smith"]
    assert ids(search_patients(desk, "1975")) == ["pat_mary_jones"]


def test_like_wildcards_are_taken_literally(desk):
    assert ids(search_patients(desk, "%")) == []
    assert ids(search_patients(desk, "_")) == []


def test_empty_text_lists_everyone_by_last_name_in_pages(desk):
    everyone = search_patients(desk, "")
    assert ids(everyone) == ["pat_mary_jones", "pat_john_smith", "pat_ann_smithers"]
    assert (everyone.has_more, everyone.next_offset) == (False, None)

    first = search_patients(desk, "  ", limit=2)
    assert ids(first) == ["pat_mary_jones", "pat_john_smith"]
    assert (first.has_more, first.next_offset) == (True, 2)
    rest = search_patients(desk, "", limit=2, offset=first.next_offset)
    assert ids(rest) == ["pat_ann_smithers"]
    assert (rest.has_more, rest.next_offset) == (False, None)


@pytest.mark.parametrize("limit, offset", [(0, 0), (101, 0), (20, -1)])
def test_paging_outside_the_limits_is_refused(ctx, limit, offset):
    with pytest.raises(FrontdeskError) as caught:
        search_patients(ctx, "", limit=limit, offset=offset)
    assert caught.value.code == "VALIDATION_ERROR"


def test_get_returns_every_field_and_unknown_ids_are_not_found(ctx):
    load(ctx)
    john = get_patient(ctx, "pat_john_smith")
    assert (john.first_name, john.last_name, john.email, john.phone) == ("John", "Smith", "john@example.com", "+44 20 7946 0000")
    assert john.date_of_birth.isoformat() == "1980-04-02"
    with pytest.raises(FrontdeskError) as caught:
        get_patient(ctx, "pat_nobody")
    assert caught.value.code == "NOT_FOUND"


# --- the patient record (#13) ------------------------------------------------------------

import copy  # noqa: E402

from booking_clinic import CLINIC, utc  # noqa: E402

from frontdesk.services.holds import confirm_hold, create_hold  # noqa: E402
from frontdesk.services.objects import ConfirmRequest, HoldRequest, NewPatient  # noqa: E402
from frontdesk.services.patients import (  # noqa: E402
    create_patient,
    export_patient,
    patient_history,
    update_patient,
)


def refused(call, *args, **kwargs) -> FrontdeskError:
    with pytest.raises(FrontdeskError) as caught:
        call(*args, **kwargs)
    return caught.value


def everyone(ctx):
    return ids(search_patients(ctx, "", limit=100))


@pytest.mark.parametrize("typed", ["07700 900396", "07700900396", "+44 7700 900396", "+447700900396",
                                   "(07700) 900-396", "0044 7700 900396", "07700 900", "07700 9003",
                                   "077009003", "+44 7700 90"])
def test_a_phone_typed_any_common_way_finds_the_patient(desk, typed):
    jo = create_patient(desk, "Jo", "Bloggs", phone="+44 7700 900396")
    assert ids(search_patients(desk, typed)) == [jo.id]


def test_a_phone_is_stored_normalised_and_read_back_nationally(desk):
    jo = create_patient(desk, "Jo", "Bloggs", phone="07700900396")
    assert (jo.phone_e164, jo.phone_display, jo.phone) == ("+447700900396", "07700 900396", "+44 7700 900396")
    abroad = create_patient(desk, "Marie", "Curie", phone="+33 1 23 45 67 89")
    assert abroad.phone_display == "+33 1 23 45 67 89"


def test_names_are_found_without_accents_or_case_in_either_order(desk):
    jose = create_patient(desk, "José", "Álvarez")
    assert ids(search_patients(desk, "jose")) == [jose.id]
    assert ids(search_patients(desk, "ALVAREZ JOSÉ")) == [jose.id]
    assert ids(search_patients(desk, "álvarez, josé")) == [jose.id]
    assert ids(search_patients(desk, "jose alvarez")) == [jose.id]


def test_a_date_of_birth_is_found_as_the_desk_writes_it(desk):
    for typed in ("02/04/1980", "2 Apr 1980", "1980-04-02", "2.4.1980"):
        assert ids(search_patients(desk, typed)) == ["pat_john_smith"], typed


def test_the_same_person_twice_is_refused_naming_the_match(desk):
    jo = create_patient(desk, "Jo", "Bloggs", email="jo@example.com", date_of_birth="1980-12-31")
    error = refused(create_patient, desk, "Jo", "Bloggs", email="jo@example.com", date_of_birth="1980-12-31")
    assert error.code == "VALIDATION_ERROR"
    assert [m["id"] for m in error.details["matches"]] == [jo.id]
    assert error.details["matches"][0]["same"] == ["name and date of birth", "email"]
    assert jo.id in error.message
    # The name typed another way (accents, case) with the same date of birth is the same person.
    assert refused(create_patient, desk, "JÖ", "bloggs", date_of_birth="31/12/1980").details["matches"][0]["id"] == jo.id
    # Only by email or only by phone too.
    assert refused(create_patient, desk, "Joanna", "Other", email="JO@example.com").details["matches"][0]["id"] == jo.id
    before = everyone(desk)
    assert len(before) == 4
    again = create_patient(desk, "Jo", "Bloggs", email="jo@example.com", date_of_birth="1980-12-31", allow_duplicate=True)
    assert again.id != jo.id and len(everyone(desk)) == 5


def test_a_phone_already_held_is_a_duplicate_however_typed(desk):
    jo = create_patient(desk, "Jo", "Bloggs", phone="+44 7700 900396")
    error = refused(create_patient, desk, "Joe", "Blogs", phone="07700900396")
    assert (error.code, error.details["matches"][0]["id"]) == ("VALIDATION_ERROR", jo.id)


def test_dates_of_birth_follow_the_clinics_order(desk):
    jo = create_patient(desk, "Jo", "Bloggs", date_of_birth="31/12/1980")
    assert jo.date_of_birth.isoformat() == "1980-12-31"
    error = refused(create_patient, desk, "Ann", "Other", date_of_birth="1980-02-30")
    assert (error.code, error.details["field"]) == ("VALIDATION_ERROR", "date_of_birth")
    assert "30 February 1980 does not exist" in error.message
    assert "YYYY" not in error.message
    # 12/31/1980 is month first: no month 31 at a day-first clinic.
    assert refused(create_patient, desk, "Ann", "Other", date_of_birth="12/31/1980").details["field"] == "date_of_birth"


def test_a_us_clinic_reads_dates_month_first_and_phones_as_american(clock, tmp_path):
    data = copy.deepcopy(CLINIC)
    data["clinic"] = {"name": "Boston", "country": "US"}
    ctx = Context.open(f"sqlite:///{tmp_path / 'us.db'}", clock=clock, operator="tester")
    try:
        load(ctx, data)
        pat = create_patient(ctx, "Jo", "Bloggs", date_of_birth="12/31/1980", phone="(202) 555-0123")
        assert (pat.date_of_birth.isoformat(), pat.phone_e164, pat.phone_display) == (
            "1980-12-31", "+12025550123", "(202) 555-0123")
        assert ids(search_patients(ctx, "202-555-0123")) == [pat.id]
    finally:
        ctx.db.dispose()


def test_the_clinic_files_country_and_date_order_are_checked(ctx):
    data = copy.deepcopy(CLINIC)
    data["clinic"] = {"name": "X", "country": "Narnia", "date_order": "DDD"}
    error = refused(load, ctx, data)
    problems = " ".join(error.details["errors"])
    assert "clinic.country" in problems and "clinic.date_order" in problems, problems


@pytest.mark.parametrize("fields, field", [
    ({"phone": "call me"}, "phone"),
    ({"phone": "12"}, "phone"),
    ({"email": "jo-at-example"}, "email"),
    ({"date_of_birth": "someday"}, "date_of_birth"),
    ({"date_of_birth": "2030-01-01"}, "date_of_birth"),
    ({"first_name": "Jo\x1b[31m"}, "first_name"),
    ({"first_name": ""}, "first_name"),
])
def test_bad_input_names_the_field_and_writes_nothing(desk, fields, field):
    before = everyone(desk)
    values = {"first_name": "Jo", "last_name": "Bloggs"} | fields
    error = refused(create_patient, desk, **values)
    assert (error.code, error.details["field"]) == ("VALIDATION_ERROR", field)
    assert everyone(desk) == before
    john = get_patient(desk, "pat_john_smith")
    error = refused(update_patient, desk, "pat_john_smith", fields)
    assert (error.code, error.details["field"]) == ("VALIDATION_ERROR", field)
    assert get_patient(desk, "pat_john_smith") == john


def test_an_update_checks_fields_and_versions(desk):
    john = get_patient(desk, "pat_john_smith")
    changed = update_patient(desk, john.id, {"phone": "07700 900111", "date_of_birth": "3/4/1980"},
                             expect_version=john.version)
    assert (changed.phone_display, changed.date_of_birth.isoformat()) == ("07700 900111", "1980-04-03")
    assert changed.version == john.version + 1
    stale = refused(update_patient, desk, john.id, {"first_name": "Jon"}, expect_version=john.version)
    assert (stale.code, stale.details["current_version"]) == ("VERSION_CONFLICT", changed.version)
    assert get_patient(desk, john.id).first_name == "John"
    # Taking another patient's email is a duplicate too.
    clash = refused(update_patient, desk, john.id, {"email": "mary.jones@example.org"})
    assert clash.details["matches"][0]["id"] == "pat_mary_jones"
    assert refused(update_patient, desk, "pat_nobody", {"first_name": "X"}).code == "NOT_FOUND"
    assert refused(update_patient, desk, john.id, {"shoe_size": "9"}).code == "VALIDATION_ERROR"


def _with_visits() -> dict:
    data = copy.deepcopy(CLINIC)
    base = {"patient_id": "pat_john_smith", "clinician_profile_id": "cli_sarah", "title": "Follow-up",
            "appointment_type_id": "type_followup", "location_id": "loc_central"}
    data["appointments"] = [
        base | {"id": "apt_missed", "start_time": "2025-01-06T09:00:00Z", "end_time": "2025-01-06T09:30:00Z",
                "status": "no_show"},
        base | {"id": "apt_done", "start_time": "2025-01-13T09:00:00Z", "end_time": "2025-01-13T09:30:00Z",
                "status": "completed"},
        base | {"id": "apt_next", "start_time": "2025-01-21T10:00:00Z", "end_time": "2025-01-21T10:30:00Z",
                "status": "confirmed"},
    ]
    return data


def test_history_shows_upcoming_and_past_with_the_no_shows_counted(ctx):
    load(ctx, _with_visits())
    history = patient_history(ctx, "pat_john_smith")
    assert [a.id for a in history.upcoming] == ["apt_next"]
    assert [(a.id, a.status) for a in history.past] == [("apt_done", "completed"), ("apt_missed", "no_show")]
    assert (history.no_shows, history.total, history.has_more) == (1, 3, False)
    first = patient_history(ctx, "pat_john_smith", limit=2)
    assert (first.has_more, first.next_offset, first.no_shows) == (True, 2, 1)
    assert [a.id for a in patient_history(ctx, "pat_john_smith", limit=2, offset=2).past] == ["apt_missed"]
    assert patient_history(ctx, "pat_mary_jones").total == 0
    assert refused(patient_history, ctx, "pat_nobody").code == "NOT_FOUND"


def test_export_holds_everything_about_one_patient_as_json(ctx):
    import json

    load(ctx, _with_visits())
    document = export_patient(ctx, "pat_john_smith")
    json.dumps(document)  # plain JSON, nothing else
    assert document["patient"]["email"] == "john@example.com"
    assert [a["id"] for a in document["appointments"]] == ["apt_missed", "apt_done", "apt_next"]
    assert document["appointments"][0]["status_history"][-1]["status"] == "no_show"
    assert "pat_mary_jones" not in json.dumps(document)


def test_a_hold_confirmed_for_a_new_patient_who_exists_is_refused_unless_allowed(desk):
    hold = create_hold(desk, HoldRequest(appointment_type_id="type_followup", clinician_id="cli_sarah",
                                         location_id="loc_central", start=utc(2025, 1, 20, 9)))
    twin = NewPatient("John", "Smith", date_of_birth="02/04/1980")
    error = refused(confirm_hold, desk, hold.id, ConfirmRequest(new_patient=twin))
    assert (error.code, error.details["matches"][0]["id"]) == ("VALIDATION_ERROR", "pat_john_smith")
    assert len(everyone(desk)) == 3
    made = confirm_hold(desk, hold.id, ConfirmRequest(new_patient=NewPatient("Jo", "Bloggs", phone="07700900396")))
    jo = get_patient(desk, made.patient_id)
    assert jo.phone_e164 == "+447700900396"
    other = create_hold(desk, HoldRequest(appointment_type_id="type_followup", clinician_id="cli_sarah",
                                          location_id="loc_central", start=utc(2025, 1, 20, 10)))
    again = confirm_hold(desk, other.id, ConfirmRequest(new_patient=twin, allow_duplicate=True))
    assert again.patient_id not in ("pat_john_smith", jo.id)


# --- the command line --------------------------------------------------------------------


def cli(capsys, *argv: str) -> tuple[int, dict]:
    import json

    from frontdesk.cli.main import main

    code = main([*argv])
    return code, json.loads(capsys.readouterr().out)


def test_the_command_line_creates_refuses_duplicates_updates_and_finds(ctx, capsys, db_url):
    load(ctx)
    db = ["--db", db_url, "--now", "2025-01-20T08:00:00Z"]
    code, made = cli(capsys, "patients", "create", "--first-name", "Jo", "--last-name", "Bloggs",
                     "--email", "jo@example.com", "--dob", "31/12/1980", "--phone", "+44 7700 900396", *db)
    assert code == 0, made
    jo = made["data"]
    code, again = cli(capsys, "patients", "create", "--first-name", "Jo", "--last-name", "Bloggs",
                      "--email", "jo@example.com", "--dob", "1980-12-31", *db)
    assert (code, again["error"]["code"]) == (1, "VALIDATION_ERROR")
    assert [m["id"] for m in again["error"]["details"]["matches"]] == [jo["id"]]
    code, forced = cli(capsys, "patients", "create", "--first-name", "Jo", "--last-name", "Bloggs",
                       "--email", "jo@example.com", "--dob", "1980-12-31", "--allow-duplicate", *db)
    assert code == 0 and forced["data"]["id"] != jo["id"]
    for typed in ("07700 900396", "07700900396", "+44 7700 900396"):
        code, found = cli(capsys, "patients", "search", typed, *db)
        assert sorted(p["id"] for p in found["data"]) == sorted([jo["id"]]), typed
    code, changed = cli(capsys, "patients", "update", jo["id"], "--phone", "07700 900111",
                        "--expect-version", "1", *db)
    assert code == 0, changed
    assert (code, changed["data"]["phone_display"], changed["data"]["version"]) == (0, "07700 900111", 2)
    code, stale = cli(capsys, "patients", "update", jo["id"], "--first-name", "Joe", "--expect-version", "1", *db)
    assert (code, stale["error"]["code"]) == (1, "VERSION_CONFLICT")
    code, bad = cli(capsys, "patients", "update", jo["id"], "--dob", "1980-02-30", *db)
    assert (bad["error"]["code"], bad["error"]["details"]["field"]) == ("VALIDATION_ERROR", "date_of_birth")
    assert "does not exist" in bad["error"]["message"]
    code, history = cli(capsys, "patients", "history", jo["id"], "--limit", "5", *db)
    assert (code, history["data"]["total"], history["data"]["no_shows"]) == (0, 0, 0)
    code, export = cli(capsys, "patients", "export", jo["id"], *db)
    assert (code, export["data"]["patient"]["id"]) == (0, jo["id"])
