"""Migrations carry a database made by an earlier release forward without losing anything."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from frontdesk.domain.intervals import Interval
from frontdesk.services.busy import busy_spans
from frontdesk.store.db import open_database
from frontdesk.store.migrate import upgrade


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    return f"sqlite:///{tmp_path / 'old.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def release_0001(url: str) -> None:
    """A database as the first release left it: appointments and holds whose busy time lives
    in their link tables, two of them overlapping (written before the database refused that)."""
    engine = create_engine(url)
    upgrade(engine, "0001")
    rows = [
        "INSERT INTO appointment_types (id, name, duration_minutes, padding_before_minutes, padding_after_minutes,"
        " duration_options, min_notice_minutes, capacity, modes) VALUES"
        " ('type_x', 'X', 30, 0, 10, '[]', 0, 1, '[\"in_person\"]')",
        "INSERT INTO resources (id, kind, name) VALUES ('cli_a', 'clinician', 'A'), ('cli_b', 'clinician', 'B')",
    ]
    appointments = [  # id, status, start, end, end padded (10 minutes after), clinician
        ("apt_1", "confirmed", "2025-01-20 09:00:00", "2025-01-20 09:30:00", "2025-01-20 09:40:00", "cli_a"),
        ("apt_2", "pending", "2025-01-20 09:20:00", "2025-01-20 09:50:00", "2025-01-20 10:00:00", "cli_a"),
        ("apt_3", "cancelled", "2025-01-20 09:00:00", "2025-01-20 09:30:00", "2025-01-20 09:40:00", "cli_a"),
        ("apt_4", "completed", "2025-01-20 10:00:00", "2025-01-20 10:30:00", "2025-01-20 10:40:00", "cli_b"),
    ]
    for aid, status, start, end, busy_end, cid in appointments:
        rows.append(
            "INSERT INTO appointments (id, clinician_profile_id, title, start_time, end_time, status,"
            " appointment_type_id, is_remote, duration_minutes, created_at, updated_at) VALUES"
            f" ('{aid}', '{cid}', 'X', '{start}', '{end}', '{status}', 'type_x', false, 30, '{start}', '{start}')"
        )
        rows.append(
            "INSERT INTO appointment_resources (appointment_id, resource_id, busy_start, busy_end) VALUES"
            f" ('{aid}', '{cid}', '{start}', '{busy_end}')"
        )
        rows.append(
            "INSERT INTO status_history (appointment_id, status, changed_by, changed_at) VALUES"
            f" ('{aid}', '{status}', 'old desk', '{start}')"
        )
    rows += [
        "INSERT INTO holds (id, status, appointment_type_id, clinician_id, is_remote, start_time, end_time,"
        " duration_minutes, expires_at, created_at, created_by, updated_at) VALUES"
        " ('hold_1', 'active', 'type_x', 'cli_b', false, '2025-01-20 11:00:00', '2025-01-20 11:30:00',"
        " 30, '2025-01-20 08:15:00', '2025-01-20 08:00:00', 'old desk', '2025-01-20 08:00:00')",
        "INSERT INTO hold_resources (hold_id, resource_id, busy_start, busy_end) VALUES"
        " ('hold_1', 'cli_b', '2025-01-20 11:00:00', '2025-01-20 11:40:00')",
    ]
    with engine.begin() as conn:
        for statement in rows:
            conn.execute(text(statement))
    engine.dispose()


def test_0002_moves_busy_time_into_the_checked_table_and_keeps_everything(url):
    release_0001(url)
    database = open_database(url)
    with database.engine.connect() as conn:
        busy = conn.execute(text(
            "SELECT resource_id, appointment_id, hold_id, exempt FROM busy_times ORDER BY resource_id, busy_start"
        )).all()
        history = conn.execute(text("SELECT appointment_id FROM status_history ORDER BY appointment_id")).scalars().all()
        links = conn.execute(text("SELECT appointment_id FROM appointment_resources ORDER BY 1")).scalars().all()
        versions = set(conn.execute(text("SELECT version FROM appointments")).scalars())
    # Only active bookings take time; the overlap written before is kept, marked exempt.
    assert [tuple(row) for row in busy] == [
        ("cli_a", "apt_1", None, False), ("cli_a", "apt_2", None, True), ("cli_b", None, "hold_1", False),
    ]
    assert history == ["apt_1", "apt_2", "apt_3", "apt_4"]
    assert links == ["apt_1", "apt_2", "apt_3", "apt_4"]
    assert versions == {1}
    # From now on the database refuses a new overlap on its own.
    with pytest.raises(Exception) as refused, database.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO busy_times (resource_id, busy_start, busy_end, appointment_id, booked_start, share_key, exempt)"
            " VALUES ('cli_a', '2025-01-20 09:10:00', '2025-01-20 09:15:00', 'apt_3', '2025-01-20 09:10:00', 'new', false)"
        ))
    assert "overlap" in str(refused.value) or "busy_times_no_overlap" in str(refused.value)
    database.dispose()


def release_0004_with_seats(url: str) -> None:
    """A database as release 0004 left it: a class (capacity 3) booked one appointment per
    seat. At 10:00, four seats: Ann's (the first booked), Ben's (cancelled, with a reason in
    the change log), Cy's (a no-show) and Dee's; at 11:00 Ann alone."""
    engine = create_engine(url)
    upgrade(engine, "0004")
    rows = [
        "INSERT INTO appointment_types (id, name, duration_minutes, padding_before_minutes, padding_after_minutes,"
        " duration_options, min_notice_minutes, capacity, modes) VALUES"
        " ('type_class', 'Back Class', 60, 0, 0, '[]', 0, 3, '[\"in_person\"]')",
        "INSERT INTO resources (id, kind, name) VALUES ('cli_t', 'clinician', 'T'), ('res_gym', 'room', 'Gym')",
        "INSERT INTO patients (id, first_name, last_name) VALUES ('pat_ann', 'Ann', 'A'), ('pat_ben', 'Ben', 'B'),"
        " ('pat_cy', 'Cy', 'C'), ('pat_dee', 'Dee', 'D')",
    ]
    seats = [  # id, patient, status, start, created
        ("apt_s2", "pat_ben", "cancelled", "10:00", "2025-01-10 09:00:00"),
        ("apt_s1", "pat_ann", "confirmed", "10:00", "2025-01-09 09:00:00"),
        ("apt_s3", "pat_cy", "no_show", "10:00", "2025-01-11 09:00:00"),
        ("apt_s4", "pat_dee", "pending", "10:00", "2025-01-12 09:00:00"),
        ("apt_s5", "pat_ann", "confirmed", "11:00", "2025-01-12 10:00:00"),
    ]
    for aid, pid, status, start, created in seats:
        begin, end = f"2025-01-20 {start}:00", f"2025-01-20 {int(start[:2]) + 1}:00:00"
        rows.append(
            "INSERT INTO appointments (id, patient_id, clinician_profile_id, title, start_time, end_time, status,"
            " appointment_type_id, is_remote, duration_minutes, attendee_name, created_by, created_at, updated_at)"
            f" VALUES ('{aid}', '{pid}', 'cli_t', 'Back Class', '{begin}', '{end}', '{status}', 'type_class', false,"
            f" 60, '{pid}', 'old desk', '{created}', '{created}')"
        )
        rows.append("INSERT INTO status_history (appointment_id, status, changed_by, changed_at) VALUES"
                    f" ('{aid}', 'pending', 'old desk', '{created}')")
        rows.append("INSERT INTO appointment_resources (appointment_id, resource_id) VALUES"
                    f" ('{aid}', 'cli_t'), ('{aid}', 'res_gym')")
        if status in ("confirmed", "pending"):  # only active bookings take time
            key = f"group:type_class:{1737367200 + (3600 if start == '11:00' else 0)}:cli_t"
            for resource in ("cli_t", "res_gym"):
                rows.append(
                    "INSERT INTO busy_times (resource_id, busy_start, busy_end, appointment_id, appointment_type_id,"
                    f" booked_start, share_key, exempt) VALUES ('{resource}', '{begin}', '{end}', '{aid}', 'type_class',"
                    f" '{begin}', '{key}', false)"
                )
    rows.append("INSERT INTO change_log (appointment_id, field, old, new, changed_by, changed_at) VALUES"
                " ('apt_s2', 'cancellation_reason', 'null', '\"moved away\"', 'old desk', '2025-01-13 09:00:00')")
    with engine.begin() as conn:
        for statement in rows:
            conn.execute(text(statement))
    engine.dispose()


def test_0005_merges_one_appointment_per_seat_into_groups(url):
    from frontdesk.clock import FakeClock
    from frontdesk.services.appointments import get_appointment, list_appointments
    from frontdesk.services.context import Context
    from frontdesk.services.objects import AppointmentFilter

    release_0004_with_seats(url)
    open_database(url).dispose()
    ctx = Context.open(url, clock=FakeClock(datetime(2025, 1, 20, 8, tzinfo=UTC)), operator="desk")
    groups = list_appointments(ctx, AppointmentFilter()).items
    # The earliest-booked seat's id is the group's; the other start is a group of its own.
    assert [(g.id, g.group, g.patient_id, g.status) for g in groups] == [
        ("apt_s1", True, None, "confirmed"), ("apt_s5", True, None, "confirmed")]
    ten = groups[0]
    assert [(a.id, a.attendance_status, a.no_show) for a in ten.attendees] == [
        ("pat_ann", "going", False), ("pat_ben", "not_going", False), ("pat_cy", "going", True),
        ("pat_dee", "going", False)]
    # No history lost: four seats' "pending" entries, Ben's cancellation reason, and the merge.
    assert [h.status for h in ten.status_history] == ["pending"] * 4
    fields = [c.field for c in ten.change_log]
    assert fields == ["cancellation_reason", "group"]
    assert ten.change_log[-1].new == {"merged_appointment_ids": ["apt_s1", "apt_s2", "apt_s3", "apt_s4"],
                                      "attendees": ["pat_ann", "pat_ben", "pat_cy", "pat_dee"]}
    assert ten.version == 2
    # An old seat's id leads to its group; the patient finds it on their list.
    assert get_appointment(ctx, "apt_s4").id == "apt_s1"
    assert [a.id for a in list_appointments(ctx, AppointmentFilter(patient_id="pat_dee")).items] == ["apt_s1"]
    assert [a.id for a in list_appointments(ctx, AppointmentFilter(patient_id="pat_ann")).items] == ["apt_s1", "apt_s5"]
    with ctx.db.engine.connect() as conn:
        busy = conn.execute(text("SELECT resource_id, appointment_id, seats FROM busy_times ORDER BY 2, 1")).all()
        formers = conn.execute(text("SELECT former_appointment_id FROM attendees ORDER BY 1")).scalars().all()
    # One set of busy rows per group, its seats the attendees going (Cy's no-show seat counts: it was kept).
    assert [tuple(r) for r in busy] == [("cli_t", "apt_s1", 3), ("res_gym", "apt_s1", 3),
                                        ("cli_t", "apt_s5", 1), ("res_gym", "apt_s5", 1)]
    assert formers == ["apt_s1", "apt_s2", "apt_s3", "apt_s4", "apt_s5"]
    ctx.db.dispose()


def test_0007_flags_busy_rows_longer_than_a_day(url):
    """A conference of three days, booked before 0007, is still busy in a day of its middle."""
    engine = create_engine(url)
    upgrade(engine, "0006")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO resources (id, kind, name) VALUES ('cli_a', 'clinician', 'A')"))
        for aid, start, end in (("apt_away", "2025-01-19 09:00:00", "2025-01-22 17:00:00"),
                                ("apt_visit", "2025-01-23 09:00:00", "2025-01-23 09:30:00")):
            conn.execute(text(
                "INSERT INTO appointments (id, clinician_profile_id, title, start_time, end_time, status,"
                " is_remote, duration_minutes, created_at, updated_at) VALUES"
                f" ('{aid}', 'cli_a', 'X', '{start}', '{end}', 'confirmed', false, 30, '{start}', '{start}')"
            ))
            conn.execute(text(
                "INSERT INTO busy_times (resource_id, busy_start, busy_end, appointment_id, booked_start, share_key)"
                f" VALUES ('cli_a', '{start}', '{end}', '{aid}', '{start}', '{aid}')"
            ))
    engine.dispose()
    database = open_database(url)
    with database.engine.connect() as conn:
        flags = dict(conn.execute(text("SELECT appointment_id, long_span FROM busy_times")).all())
    assert flags == {"apt_away": True, "apt_visit": False}
    with database.session(write=False) as session:
        day = Interval(datetime(2025, 1, 20, tzinfo=UTC), datetime(2025, 1, 21, tzinfo=UTC))
        spans = busy_spans(session, ["cli_a"], day, datetime(2025, 1, 1, tzinfo=UTC))["cli_a"]
    assert [span.ref_id for span in spans] == ["apt_away"]
    database.dispose()
