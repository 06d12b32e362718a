"""Migrations carry a database made by an earlier release forward without losing anything."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

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
