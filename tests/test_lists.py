"""Lists and search follow the page, not the table: keyset paging gives the same rows as
offset paging, next_offset is still honoured, and every filter is served by an index."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, insert

from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.appointments import list_appointments
from frontdesk.services.objects import AppointmentFilter
from frontdesk.services.patients import create_patient, search_patients, update_patient
from frontdesk.store.models import (
    Appointment,
    AppointmentType,
    Attendee,
    Clinic,
    Location,
    Patient,
    Resource,
    appointment_resources,
)
from frontdesk.domain.patients import search_name

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
STATUSES = ("confirmed", "pending", "cancelled", "completed")


def _fill(ctx):
    """90 appointments on only 12 distinct starts (ties on start_time everywhere), two
    clinicians at two sites, staff time on both clinicians, a group one patient attends."""
    rng = random.Random(5)
    with ctx.db.engine.begin() as conn:
        conn.execute(insert(Clinic.__table__), [{"id": 1, "name": "Lists"}])
        conn.execute(insert(Location.__table__), [{"id": f"loc_{i}", "name": f"Site {i}", "timezone": "UTC"}
                                                  for i in range(2)])
        conn.execute(insert(Resource.__table__), [{"id": f"cli_{i}", "kind": "clinician", "name": f"Dr {i}"}
                                                  for i in range(2)])
        conn.execute(insert(AppointmentType.__table__), [
            {"id": f"type_{i}", "name": f"Type {i}", "duration_minutes": 15, "duration_options": [],
             "capacity": 4, "modes": ["in_person"]} for i in range(2)])
        conn.execute(insert(Patient.__table__), [
            {"id": f"pat_{i}", "first_name": "Ann", "last_name": f"Lee{i}", "search_name": search_name("Ann", f"Lee{i}")}
            for i in range(3)])
        rows, links = [], []
        for n in range(90):
            aid = f"apt_{rng.getrandbits(64):016x}"
            clinician = n % 2
            start = START + timedelta(hours=rng.randrange(12))
            internal = n % 15 == 0
            rows.append({"id": aid, "patient_id": None if internal else f"pat_{n % 3}",
                         "clinician_profile_id": f"cli_{clinician}", "title": "Visit", "start_time": start,
                         "end_time": start + timedelta(minutes=15), "status": STATUSES[n % 4],
                         "appointment_type_id": None if internal else f"type_{n % 2}",
                         "location_id": f"loc_{n % 2}", "is_remote": False, "duration_minutes": 15,
                         "internal": internal, "is_group": n == 8, "created_at": START, "updated_at": START})
            links.append({"appointment_id": aid, "resource_id": f"cli_{clinician}"})
            if internal:
                links.append({"appointment_id": aid, "resource_id": f"cli_{1 - clinician}"})
        conn.execute(insert(Appointment.__table__), rows)
        conn.execute(insert(appointment_resources), links)
        group = rows[8]["id"]  # pat_2 books it, pat_1 attends
        conn.execute(insert(Attendee.__table__), [{
            "appointment_id": group, "patient_id": "pat_1", "attendance_status": "going", "no_show": False,
            "payment_status": "not_applicable", "added_by": "t", "added_at": START, "last_updated_at": START}])
    return ctx


@pytest.fixture
def clinic(ctx):
    return _fill(ctx)


@pytest.fixture
def either_clinic(engine_ctx):
    return _fill(engine_ctx)


FILTERS = {
    "none": {},
    "patient (own and a group attended)": {"patient_id": "pat_1"},
    "clinician (held and staff time on)": {"clinician_id": "cli_0"},
    "status": {"status": "confirmed"},
    "status_in": {"status_in": ("pending", "cancelled")},
    "dates": {"date_gte": START + timedelta(hours=2), "date_lte": START + timedelta(hours=8)},
    "appointment type": {"appointment_type_id": "type_1"},
    "location": {"location_id": "loc_0"},
    "several": {"status_in": ("confirmed", "pending"), "clinician_id": "cli_1", "date_gte": START},
}


def _everything(ctx, values):
    page = list_appointments(ctx, AppointmentFilter(limit=100, **values))
    assert not page.has_more
    return [a.id for a in page.items]


@pytest.mark.parametrize("values", FILTERS.values(), ids=FILTERS.keys())
def test_cursor_pages_give_exactly_the_offset_pages(either_clinic, values):
    clinic = either_clinic
    expected = _everything(clinic, values)
    assert len(expected) >= 7
    by_offset, by_cursor = [], []
    offset, cursor = 0, None
    while True:
        page = list_appointments(clinic, AppointmentFilter(limit=3, offset=offset, **values))
        by_offset.append([a.id for a in page.items])
        if page.next_offset is None:
            break
        assert page.has_more and page.next_offset == offset + 3
        offset = page.next_offset
    while True:
        page = list_appointments(clinic, AppointmentFilter(limit=3, cursor=cursor, **values))
        by_cursor.append([a.id for a in page.items])
        if page.next_cursor is None:
            assert not page.has_more
            break
        cursor = page.next_cursor
    assert by_cursor == by_offset
    assert [i for page in by_offset for i in page] == expected


def test_the_order_is_start_then_id_and_filters_hold(either_clinic):
    clinic = either_clinic
    page = list_appointments(clinic, AppointmentFilter(limit=100, clinician_id="cli_0"))
    keys = [(a.start_time, a.id) for a in page.items]
    assert keys == sorted(keys)
    # Its own, and staff time it is on though cli_1 hosts it.
    assert {a.clinician_profile_id for a in page.items} == {"cli_0", "cli_1"}
    assert all(a.clinician_profile_id == "cli_0" or a.internal for a in page.items)
    attended = list_appointments(clinic, AppointmentFilter(limit=100, patient_id="pat_1")).items
    assert any(a.group and a.patient_id != "pat_1" for a in attended)  # the group pat_1 attends
    mixed = list_appointments(clinic, AppointmentFilter(limit=100, status_in=("pending", "cancelled"))).items
    assert {a.status for a in mixed} == {"pending", "cancelled"}


def test_a_cursor_not_given_by_a_list_is_refused(clinic):
    with pytest.raises(FrontdeskError) as refused:
        list_appointments(clinic, AppointmentFilter(cursor="not-a-cursor"))
    assert refused.value.details["field"] == "cursor"


def test_the_last_page_has_no_cursor_and_no_next_offset(clinic):
    page = list_appointments(clinic, AppointmentFilter(limit=100))
    assert (page.next_offset, page.next_cursor, page.has_more) == (None, None, False)


# --- query plans ---------------------------------------------------------------------------

FULL_SCAN = re.compile(r"^SCAN (appointments|patients)$")


def _plans(ctx):
    """The SQLite query plans of every SELECT run while the block runs."""
    seen: list[list[str]] = []

    def explain(conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            rows = conn.connection.driver_connection.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            seen.append([row[3] for row in rows])

    event.listen(ctx.db.engine, "before_cursor_execute", explain)
    return seen


@pytest.mark.parametrize("values", FILTERS.values(), ids=FILTERS.keys())
def test_every_list_filter_is_read_through_an_index(clinic, values):
    first = list_appointments(clinic, AppointmentFilter(limit=3, **values))
    plans = _plans(clinic)
    list_appointments(clinic, AppointmentFilter(limit=3, **values))
    list_appointments(clinic, AppointmentFilter(limit=3, offset=4, **values))
    list_appointments(clinic, AppointmentFilter(limit=3, cursor=first.next_cursor, **values))
    steps = [step for plan in plans for step in plan]
    assert steps and not [s for s in steps if FULL_SCAN.match(s)], steps
    # The page's keys come from an index alone: the first statement reads no table rows.
    keys_plan = plans[0]
    assert any("INDEX" in step for step in keys_plan), keys_plan


def test_a_cursor_past_the_first_date_seeks_by_the_cursor(clinic):
    values = FILTERS["dates"]
    first = list_appointments(clinic, AppointmentFilter(limit=3, **values))
    plans = _plans(clinic)
    list_appointments(clinic, AppointmentFilter(limit=3, cursor=first.next_cursor, **values))
    assert any("(start_time,id)>(?,?)" in step for step in plans[0]), plans[0]


SEARCHES = ["lee1", "ann", "le", "Lee1 Ann", "1980-04-02", "1975", "+44 20 7946", "7946", "ann@ex", "a@b.org", ""]


@pytest.mark.parametrize("text", SEARCHES)
def test_patient_search_never_scans_the_patients_table(clinic, text):
    plans = _plans(clinic)
    search_patients(clinic, text)
    steps = [step for plan in plans for step in plan]
    assert steps and not [s for s in steps if FULL_SCAN.match(s)], steps


def test_a_substring_is_looked_up_in_the_trigram_index(clinic):
    plans = _plans(clinic)
    search_patients(clinic, "lee1")
    assert any("patients_fts VIRTUAL TABLE" in step for plan in plans for step in plan)


# --- search ---------------------------------------------------------------------------------


def test_the_trigram_index_follows_a_renamed_patient(clinic):
    assert [p.id for p in search_patients(clinic, "lee2").items] == ["pat_2"]
    update_patient(clinic, "pat_2", {"last_name": "Okafor"})
    assert search_patients(clinic, "lee2").items == []
    assert [p.id for p in search_patients(clinic, "okafo").items] == ["pat_2"]


def test_the_trigram_index_survives_the_table_being_renumbered(clinic):
    """SQLite may renumber a table's own rowids (VACUUM, a dump and restore): the index is
    keyed on each patient's search_key instead, so it still names the right patients."""
    if clinic.db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's trigram index")
    from sqlalchemy import text

    with clinic.db.engine.begin() as conn:
        conn.execute(text("UPDATE patients SET rowid = rowid + 100000"))  # as a renumbering would
    assert [p.id for p in search_patients(clinic, "lee2").items] == ["pat_2"]
    created = create_patient(clinic, "Zara", "Leeming")
    assert created.id in [p.id for p in search_patients(clinic, "leemi").items]


def test_search_cursor_pages_give_the_offset_pages(ctx):
    with ctx.db.engine.begin() as conn:
        conn.execute(insert(Clinic.__table__), [{"id": 1, "name": "Search"}])
    rows = [{"id": f"pat_{i:03d}", "first_name": "Jo" if i % 4 else "Sam", "last_name": "Bloggs" if i % 3 else "Day",
             "search_name": search_name("Jo" if i % 4 else "Sam", "Bloggs" if i % 3 else "Day")} for i in range(40)]
    with ctx.db.engine.begin() as conn:
        conn.execute(insert(Patient.__table__), rows)  # many the same name: ties broken by id
    for text in ("", "bloggs", "jo"):
        by_offset, by_cursor, offset, cursor = [], [], 0, None
        while True:
            page = search_patients(ctx, text, limit=7, offset=offset)
            by_offset += [p.id for p in page.items]
            if page.next_offset is None:
                break
            offset = page.next_offset
        while True:
            page = search_patients(ctx, text, limit=7, cursor=cursor)
            by_cursor += [p.id for p in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        expected = sorted((r["search_name"], r["id"]) for r in rows if text in r["search_name"])
        assert by_cursor == by_offset == [i for _, i in expected]


def test_a_page_is_right_when_rows_leave_while_it_is_read(clinic, monkeypatch):
    """A list split into branches reads where its first branch ends, then the page up to
    there. On PostgreSQL another desk's change can land between the two reads: with rows gone
    from the first branch, the page is read again rather than cut short at a stale bound."""
    from sqlalchemy import delete

    from frontdesk.services import paging

    gone: list[str] = []
    bounded = paging._bounded

    def bounded_then_rows_leave(session, branches, order, wanted):
        found = bounded(session, branches, order, wanted)
        gone.extend(row[1] for row in session.execute(branches[0].limit(2)))
        session.execute(delete(appointment_resources).where(appointment_resources.c.appointment_id.in_(gone)))
        session.execute(delete(Appointment.__table__).where(Appointment.id.in_(gone)))
        return found

    everything = _everything(clinic, {"clinician_id": "cli_0"})
    monkeypatch.setattr(paging, "_bounded", bounded_then_rows_leave)
    page = list_appointments(clinic, AppointmentFilter(limit=3, clinician_id="cli_0"))
    assert len(gone) == 2
    assert [a.id for a in page.items] == [i for i in everything if i not in gone][:3]
    assert page.has_more
