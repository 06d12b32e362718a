"""Hostile input and a failing database, at the command line: a refusal with a code, never a
traceback, never a patient's data on stderr; and the database's files kept private."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from sqlalchemy import text

from frontdesk.cli.main import main
from frontdesk.store.db import BUSY_MESSAGE, Database, open_database

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "clinic.toml"
NOW = "2025-01-20T08:00:00Z"
WRITE = ["holds", "create", "--appointment-type", "type_follow_up", "--clinician", "cli_amara_okafor",
         "--location", "loc_central", "--start", "2025-01-21T14:00:00Z"]


def run(db: str, *argv: str) -> tuple[int, dict, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--db", db, "--now", NOW, *argv])
    return code, json.loads(out.getvalue()), err.getvalue()


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory) -> Path:
    """The sample clinic, loaded once; each test copies the file."""
    path = tmp_path_factory.mktemp("sample") / "clinic.db"
    code, _, _ = run(str(path), "load", str(SAMPLE))
    assert code == 0
    return path


def copy_database(source: Path, target: Path) -> str:
    """A copy through SQLite's backup API (the source's WAL may still hold the newest pages)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    target.chmod(0o600)
    return str(target)


@pytest.fixture
def sample_db(sample_file, tmp_path) -> str:
    return copy_database(sample_file, tmp_path / "clinic.db")


# --- a busy database -----------------------------------------------------------------------


@pytest.fixture
def short_wait(monkeypatch):
    monkeypatch.setenv("FRONTDESK_BUSY_TIMEOUT", "0.4")
    return 0.4


def hold_write_lock(path: str) -> sqlite3.Connection:
    """Another desk, mid-write: a second connection holding SQLite's write lock."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_write_meets_a_busy_database_after_one_bounded_wait(sample_db, short_wait):
    other = hold_write_lock(sample_db)
    try:
        started = time.monotonic()
        code, document, err = run(sample_db, *WRITE)
        waited = time.monotonic() - started
    finally:
        other.rollback()
        other.close()
    assert code == 1
    assert document["error"]["code"] == "DATABASE_BUSY"
    assert document["error"]["message"] == BUSY_MESSAGE
    assert "locked" not in json.dumps(document) and "Traceback" not in err
    assert short_wait <= waited < 2 * short_wait  # one wait, not one at start-up and another


def test_a_new_database_meets_a_busy_one_after_one_wait_too(tmp_path, short_wait):
    """The schema check at start-up no longer swallows the first timeout."""
    path = str(tmp_path / "empty.db")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode = WAL")
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE scratch (x)")
    try:
        started = time.monotonic()
        code, document, _ = run(path, "patients", "search", "")
        waited = time.monotonic() - started
    finally:
        other.rollback()
        other.close()
    assert (code, document["error"]["code"]) == (1, "DATABASE_BUSY")
    assert waited < 2 * short_wait


def test_reads_do_not_queue_behind_a_writer(sample_db, short_wait):
    other = hold_write_lock(sample_db)
    try:
        # A read that queued for the lock would be DATABASE_BUSY after the short wait.
        for argv in (
            ["appointments", "list", "--limit", "5"],
            ["appointments", "get", "apt_0001"],
            ["patients", "search", "Bennett"],
            ["availability", "--appointment-type", "type_follow_up", "--start-date", "2025-01-21",
             "--end-date", "2025-01-22", "--location", "loc_central"],
        ):
            code, document, _ = run(sample_db, *argv)
            assert code == 0, (argv, document)
    finally:
        other.rollback()
        other.close()


def test_a_busy_database_through_a_real_process_prints_no_traceback(sample_db):
    other = hold_write_lock(sample_db)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "frontdesk", "--db", sample_db, "--now", NOW, *WRITE],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "FRONTDESK_BUSY_TIMEOUT": "0.3"},
            timeout=60,
        )
    finally:
        other.rollback()
        other.close()
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["code"] == "DATABASE_BUSY"
    assert done.stderr == ""


# --- a failing disk or database ------------------------------------------------------------


CONFIRM_NEW_PATIENT = ["--new-patient-first-name", "Zelda", "--new-patient-last-name", "Quinterro",
                       "--new-patient-phone", "+44 7700 900123", "--new-patient-dob", "1971-03-04"]


def _hold(db: str) -> str:
    code, document, _ = run(db, *WRITE)
    assert code == 0, document
    return document["data"]["id"]


def _assert_refused_privately(code: int, document: dict, err: str, expected: str, reason: str) -> None:
    assert code == 1
    assert document["error"]["code"] == expected
    assert document["error"]["details"]["reason"] == reason
    shown = json.dumps(document) + err
    for typed in ("Zelda", "Quinterro", "7700", "1971"):
        assert typed not in shown
    assert "Traceback" not in err


def test_a_read_only_database_file_is_a_refusal(sample_db):
    hold_id = _hold(sample_db)
    os.chmod(sample_db, 0o400)
    try:
        code, document, err = run(sample_db, "holds", "confirm", hold_id, *CONFIRM_NEW_PATIENT)
    finally:
        os.chmod(sample_db, 0o600)
    if os.geteuid() == 0:
        pytest.skip("root writes a read-only file")
    _assert_refused_privately(code, document, err, "DATABASE_ERROR", "read_only")


def test_a_full_disk_is_a_refusal_that_writes_nothing(sample_db, monkeypatch):
    from frontdesk.store import db as store_db

    original = store_db._setup_sqlite

    def no_room_left(engine, timeout):  # the file may not grow by a page: as a full disk
        original(engine, timeout)

        @store_db.event.listens_for(engine, "connect")
        def _cap(dbapi_connection, _record):
            pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    monkeypatch.setattr(store_db, "_setup_sqlite", no_room_left)
    before = _digest(sample_db)
    code, document, err = run(
        sample_db, "appointments", "create", "--title", "Zelda Quinterro", "--start-time", "2025-01-22T07:00:00Z",
        "--end-time", "2025-01-22T07:30:00Z", "--attendee-name", "Zelda Quinterro 7700 1971",
        "--description", "Zelda " * 660,  # nearly a page: it needs a new one
    )
    _assert_refused_privately(code, document, err, "DATABASE_ERROR", "disk_full")
    monkeypatch.undo()
    assert _digest(sample_db) == before


def test_a_lost_connection_is_a_refusal(sample_db, monkeypatch):
    from sqlalchemy.exc import OperationalError

    hold_id = _hold(sample_db)

    class Lost(Exception):
        sqlstate = "08006"

    def lose(*_args, **_kwargs):
        raise OperationalError("INSERT INTO patients ...", {"first_name": "Zelda"}, Lost("server closed the connection"))

    from sqlalchemy.orm import Session

    monkeypatch.setattr(Session, "flush", lose)
    code, document, err = run(sample_db, "holds", "confirm", hold_id, *CONFIRM_NEW_PATIENT)
    _assert_refused_privately(code, document, err, "DATABASE_ERROR", "connection")


@pytest.mark.parametrize(
    "sqlite_code, sqlstate, code, reason",
    [
        (5, None, "DATABASE_BUSY", None),  # SQLITE_BUSY
        (517, None, "DATABASE_BUSY", None),  # SQLITE_BUSY_SNAPSHOT
        (None, "55P03", "DATABASE_BUSY", None),  # lock_timeout
        (8, None, "DATABASE_ERROR", "read_only"),
        (None, "25006", "DATABASE_ERROR", "read_only"),
        (13, None, "DATABASE_ERROR", "disk_full"),
        (None, "53100", "DATABASE_ERROR", "disk_full"),
        (None, "08006", "DATABASE_ERROR", "connection"),
        (None, "57014", "DATABASE_ERROR", "timeout"),
        (26, None, "DATABASE_ERROR", "damaged"),
    ],
)
def test_driver_errors_become_refusals_without_their_text(sqlite_code, sqlstate, code, reason):
    from sqlalchemy.exc import OperationalError

    from frontdesk.store.db import refusal

    cause = sqlite3.OperationalError("value 'Zelda Quinterro' is wrong")
    if sqlite_code is not None:
        cause.sqlite_errorcode = sqlite_code
    else:
        cause.sqlstate = sqlstate
    error = refusal(OperationalError("INSERT ...", {"name": "Zelda"}, cause))
    assert error.code == code
    assert error.details.get("reason") == reason
    assert "Zelda" not in json.dumps(error.to_dict())


def test_an_unexpected_error_is_a_sentence_without_the_values(sample_db, monkeypatch):
    from frontdesk.services import holds

    def broken(*_args, **_kwargs):
        raise RuntimeError("Zelda Quinterro +44 7700 900123")

    monkeypatch.setattr(holds, "confirm_hold", broken)
    monkeypatch.delenv("FRONTDESK_DEBUG", raising=False)
    code, document, err = run(sample_db, "holds", "confirm", "hld_x", *CONFIRM_NEW_PATIENT)
    assert document["error"]["code"] == "INTERNAL_ERROR"
    assert code == 1 and "Zelda" not in json.dumps(document) + err and "Traceback" not in err


def test_engines_hide_the_parameters_of_statements(tmp_path):
    database = Database(tmp_path / "h.db")
    assert database.engine.hide_parameters


# --- privacy at rest -------------------------------------------------------------------------


def test_an_existing_database_and_its_wal_files_are_tightened_with_one_note(tmp_path, capsys):
    path = tmp_path / "old.db"
    database = open_database(path)
    with database.session() as session:
        session.execute(text("INSERT INTO clinic (id, name, hold_minutes) VALUES (1, 'x', 15)"))
    keep = sqlite3.connect(path)  # keeps the -wal and -shm files in place
    keep.execute("SELECT count(*) FROM clinic").fetchall()
    database.dispose()
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    for file in files:
        os.chmod(file, 0o644)
    capsys.readouterr()

    open_database(path).dispose()
    for file in files:
        assert stat.S_IMODE(os.stat(file).st_mode) == 0o600, file
    assert capsys.readouterr().err.count("readable by its owner only") == 1

    open_database(path).dispose()  # already private: no second note
    assert capsys.readouterr().err == ""
    keep.close()


def test_tightening_never_makes_a_read_only_file_writable(tmp_path):
    path = tmp_path / "ro.db"
    open_database(path).dispose()
    os.chmod(path, 0o444)
    try:
        Database(path).dispose()
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o400
    finally:
        os.chmod(path, 0o600)


def test_the_data_folder_is_created_private(monkeypatch, tmp_path):
    from frontdesk.store.db import resolve_url

    monkeypatch.delenv("FRONTDESK_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    resolve_url(None)
    assert stat.S_IMODE(os.stat(tmp_path / "xdg" / "frontdesk").st_mode) == 0o700


# --- command lines at the edges ----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, field_hint",
    [
        (["appointments", "list", "--date-gte", "9999-12-31T23:00:00-05:00"], "outside the dates"),
        (["appointments", "list", "--date-lte", "0001-01-01T00:00:00+05:00"], "outside the dates"),
        (["availability", "--appointment-type", "type_follow_up", "--start-date", "9999-12-30",
          "--end-date", "9999-12-31", "--timezone", "America/New_York"], "outside the dates"),
        (["holds", "create", "--appointment-type", "type_follow_up", "--clinician", "cli_amara_okafor",
          "--location", "loc_central", "--start", "0001-01-01T00:00:00+05:00"], "outside the dates"),
        (["appointments", "create", "--title", "x", "--start-time", "9999-12-31T22:00:00Z",
          "--end-time", "9999-12-31T23:00:00Z"], "outside the dates"),
        (["appointments", "list", "--offset", str(2**63)], "offset"),
        (["patients", "search", "", "--offset", str(2**63)], "offset"),
        (["appointments", "create", "--title", "x", "--start-time", "2025-01-22T09:00:00Z",
          "--end-time", "2025-01-22T09:30:00Z", "--attendee-email=--"], "email"),
    ],
)
def test_edge_values_are_validation_errors(sample_db, argv, field_hint):
    code, document, err = run(sample_db, *argv)
    assert (code, document["error"]["code"]) == (1, "VALIDATION_ERROR"), document
    assert field_hint in document["error"]["message"]
    assert "Traceback" not in err


@pytest.mark.parametrize("argument", ["caf\udce9", "nul\x00here"])
def test_arguments_that_are_not_text_are_refused(sample_db, argument):
    code, document, _ = run(sample_db, "patients", "search", argument)
    assert (code, document["error"]["code"]) == (2, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "argv",
    [
        ["appointments", "list", "--status-in", ""],
        ["appointments", "list", "--status-in", " , ,"],
        ["appointments", "list", "--status-in", "confirmed,bogus"],
        ["appointments", "list", "--patient", ""],
        ["appointments", "list", "--clinician", "  "],
        ["appointments", "get", " "],
        ["holds", "get", ""],
    ],
)
def test_malformed_filters_are_refused_not_ignored(sample_db, argv):
    code, document, _ = run(sample_db, *argv)
    assert (code, document["error"]["code"]) == (2, "VALIDATION_ERROR")


def test_a_month_holding_the_autumn_clock_change_is_not_too_large(sample_db):
    argv = ["availability", "--appointment-type", "type_follow_up", "--location", "loc_central",
            "--timezone", "Europe/London", "--start-date", "2025-10-01"]
    code, document, _ = run(sample_db, *argv, "--end-date", "2025-10-31")
    assert code == 0, document
    assert len(document["days"]) == 31
    code, document, _ = run(sample_db, *argv, "--end-date", "2025-11-01")
    assert document["error"]["code"] == "DATE_RANGE_TOO_LARGE"


# --- values no engine can hold: refused the same way on both --------------------------------


LONG_VALUES = [
    (["--attendee-name", "a" * 201], "attendee_name"),
    (["--title", "t" * 201], "title"),
    (["--episode", "e" * 101], "episode_id"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db(request, sample_file, tmp_path):
    if request.param == "sqlite":
        return copy_database(sample_file, tmp_path / "clinic.db")
    url = request.getfixturevalue("postgres_url")
    code, document, _ = run(url, "load", str(SAMPLE))
    assert code == 0, document
    return url


def _digest(db: str) -> str:
    _, document, _ = run(db, "appointments", "list", "--limit", "100")
    _, patients, _ = run(db, "patients", "search", "", "--limit", "100")
    return json.dumps([document["data"], patients["data"]], sort_keys=True)


@pytest.mark.parametrize("extra, field", LONG_VALUES)
def test_values_a_column_cannot_hold_are_refused_alike_on_every_engine(any_db, extra, field):
    before = _digest(any_db)
    argv = ["appointments", "create", "--title", "Check", "--start-time", "2025-01-22T07:00:00Z",
            "--end-time", "2025-01-22T07:30:00Z", "--clinician", "cli_amara_okafor", *extra]
    if "--title" in extra:
        argv[2:4] = []
    code, document, err = run(any_db, *argv)
    assert (code, document["error"]["code"]) == (1, "VALIDATION_ERROR"), document
    assert document["error"]["details"]["field"] == field
    assert "Traceback" not in err
    assert _digest(any_db) == before


@pytest.mark.parametrize(
    "changes, field",
    [({"description": "nul\x00inside"}, "description"), ({"attendee_name": "bad \udce9"}, "attendee_name"),
     ({"title": "x" * 201}, "title")],
)
def test_the_store_refuses_what_an_engine_cannot_hold_from_any_face(any_db, changes, field):
    """Below the command line (the UI, a script): the one check before every flush."""
    from datetime import UTC, datetime

    from frontdesk.domain.errors import FrontdeskError
    from frontdesk.services.appointments import create_appointment
    from frontdesk.services.context import Context
    from frontdesk.services.objects import AppointmentCreate

    before = _digest(any_db)
    ctx = Context.open(any_db, operator="tester")
    request = {"title": "Check", "start_time": datetime(2025, 1, 22, 7, tzinfo=UTC),
               "end_time": datetime(2025, 1, 22, 7, 30, tzinfo=UTC), **changes}
    try:
        with pytest.raises(FrontdeskError) as refused:
            create_appointment(ctx, AppointmentCreate(**request))
    finally:
        ctx.db.dispose()
    assert refused.value.code == "VALIDATION_ERROR"
    assert refused.value.details["field"] == field
    assert _digest(any_db) == before


def test_a_new_patient_with_a_long_phone_is_refused_alike_on_every_engine(any_db):
    hold_id = _hold(any_db)
    code, document, _ = run(any_db, "holds", "confirm", hold_id, "--new-patient-first-name", "A",
                            "--new-patient-last-name", "B", "--new-patient-phone", "1" * 51)
    assert (code, document["error"]["code"]) == (1, "VALIDATION_ERROR"), document
    assert document["error"]["details"]["field"] == "phone"


def test_huge_offsets_and_operators_are_refused_alike_on_every_engine(any_db):
    code, document, _ = run(any_db, "appointments", "list", "--offset", str(2**63))
    assert document["error"]["code"] == "VALIDATION_ERROR"
    code, document, _ = run(any_db, "--operator", "o" * 101, *WRITE)
    assert (code, document["error"]["code"]) == (1, "VALIDATION_ERROR"), document
    assert document["error"]["details"]["field"] == "operator"


@pytest.mark.postgres
def test_a_write_meets_a_busy_postgresql_after_one_bounded_wait(postgres_url, short_wait):
    """Another desk holds the clinician's row lock (mid-booking) on PostgreSQL: the write waits
    for `lock_timeout` once, then is DATABASE_BUSY, and nothing is written."""
    import psycopg

    code, document, _ = run(postgres_url, "load", str(SAMPLE))
    assert code == 0, document
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as other:
        other.execute("SELECT id FROM resources WHERE id = 'cli_amara_okafor' FOR UPDATE")
        started = time.monotonic()
        code, document, err = run(postgres_url, *WRITE)
        waited = time.monotonic() - started
        other.rollback()
    assert (code, document["error"]["code"]) == (1, "DATABASE_BUSY"), document
    assert short_wait <= waited < short_wait + 5 and "Traceback" not in err
    _, holds, _ = run(postgres_url, "holds", "list")
    assert holds["data"] == []
