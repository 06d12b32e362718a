"""PostgreSQL reads busy time through its indexes only, whatever the tables hold (issue #16:
a busy-time read that full-scanned or flipped plans with the table's statistics cost 1.7 s
at 10M appointments). The statements are the service's own (services/busy.py), explained
after ANALYZE at each size built here."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from booking_clinic import CLINIC, load, utc
from sqlalchemy import event, text

from frontdesk.domain.intervals import Interval
from frontdesk.services.busy import blocks_statement, bookings_statement
from frontdesk.services.context import Context

pytestmark = pytest.mark.postgres
CLINICIANS = ["cli_sarah", "cli_tom", "cli_nina"]


def plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from plan_nodes(child)


def explain(conn, statement) -> list[dict]:
    """The plan of `statement` as the service runs it (its parameters bound the same way)."""
    def as_explain(conn, cursor, sql, parameters, context, executemany):
        return "EXPLAIN (FORMAT JSON) " + sql, parameters

    event.listen(conn, "before_cursor_execute", as_explain, retval=True)
    try:
        result = conn.execute(statement)
        found = result.cursor.fetchone()[0]
        result.close()
    finally:
        event.remove(conn, "before_cursor_execute", as_explain)
    found = json.loads(found) if isinstance(found, str) else found
    return list(plan_nodes(found[0]["Plan"]))


def fill(conn, rows: int) -> None:
    """`rows` busy rows, imported periods and one-off blocks for the clinicians, each table,
    from years back to years ahead (a history that never leaves the table is the worst case)."""
    conn.execute(text(
        "INSERT INTO busy_times (resource_id, busy_start, busy_end, booked_start, share_key, exempt, seats, long_span)"
        " SELECT (ARRAY['cli_sarah', 'cli_tom', 'cli_nina'])[1 + n % 3], t, t + interval '15 minutes', t,"
        "        'k' || n, false, 1, false"
        " FROM generate_series(1, :rows) AS n, LATERAL (SELECT timestamp '2020-01-01' + n * interval '20 minutes') AS s(t)"
    ), {"rows": rows})
    conn.execute(text(
        "INSERT INTO external_busy (clinician_id, source, busy_start, busy_end, imported_at)"
        " SELECT (ARRAY['cli_sarah', 'cli_tom', 'cli_nina'])[1 + n % 3], 'cal', t, t + interval '1 hour', t"
        " FROM generate_series(1, :rows) AS n, LATERAL (SELECT timestamp '2020-01-01' + n * interval '20 minutes') AS s(t)"
    ), {"rows": rows})
    conn.execute(text(
        "INSERT INTO blocks (key, resource_id, start_local, end_local, reason, span_start, span_end)"
        " SELECT 'b' || n, (ARRAY['cli_sarah', 'cli_tom', 'cli_nina'])[1 + n % 3], t, t + interval '1 hour', 'off',"
        "        t, t + interval '1 hour'"
        " FROM generate_series(1, :rows) AS n, LATERAL (SELECT timestamp '2020-01-01' + n * interval '20 minutes') AS s(t)"
    ), {"rows": rows})
    conn.execute(text("ANALYZE"))


# From a few thousand rows up (an empty table is read by a sequential scan of nothing, which
# is as it should be).
@pytest.mark.parametrize("rows", [3_000, 30_000, 300_000])
def test_the_busy_time_read_uses_only_index_scans(postgres_url, clock, rows):
    ctx = Context.open(postgres_url, clock=clock, operator="tester")
    try:
        load(ctx, CLINIC)
        with ctx.db.engine.begin() as conn:
            fill(conn, rows)
        now = utc(2025, 1, 20, 8)
        with ctx.db.engine.connect() as conn:
            for days in (1, 31):
                window = Interval(now, now + timedelta(days=days))
                for statement in (blocks_statement(CLINICIANS, window),
                                  bookings_statement(CLINICIANS, window, now),
                                  bookings_statement(CLINICIANS, window, now, bookings=True, with_expired=True)):
                    nodes = explain(conn, statement)
                    scans = [n for n in nodes if "Relation Name" in n]
                    assert scans, nodes
                    # Bitmap heap scans are fed by an index (a Bitmap Index Scan below them).
                    sequential = [(n["Relation Name"], n.get("Filter")) for n in scans if n["Node Type"] == "Seq Scan"]
                    assert sequential == [], (days, sequential)
                # A hold's read under its locks carries the setup version: the one-row clinic
                # table may be read whole, busy_times never.
                nodes = explain(conn, bookings_statement(CLINICIANS, window, now, bookings=True, with_expired=True,
                                                         with_setup_version=True))
                sequential = [n["Relation Name"] for n in nodes
                              if "Relation Name" in n and n["Node Type"] == "Seq Scan"]
                assert set(sequential) <= {"clinic"}, (days, sequential)
    finally:
        ctx.db.dispose()
