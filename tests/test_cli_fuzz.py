"""Fuzzing the command line: every JSON subcommand, with likely and hostile values, on the
sample clinic. Whatever comes in: exit 0, 1 or 2, one JSON document with cli.md's envelope on
stdout, no traceback, under 5 s, and a refusal changes nothing.

A bounded number of examples by default (CI); FRONTDESK_FUZZ_EXAMPLES=2000 for a longer run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.cli.main import main
from frontdesk.domain.statuses import STATUSES

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "clinic.toml"
EXAMPLES = int(os.environ.get("FRONTDESK_FUZZ_EXAMPLES", "150"))
NOW = "2025-01-20T08:00:00Z"

HOSTILE_TEXT = st.sampled_from(
    ["", " ", "--", "-", "'", '"', "\\", "%", "_", "a" * 201, "x" * 5000, "\x1b[31mred", "[bold]x", "\u202e",
     "caf\udce9", "nul\x00", "é", "😀", "0", "-1", str(2**63), str(-(2**63) - 1), "1e309", "NaN", "null",
     "'; DROP TABLE appointments; --", "\n", "\t"]
)
TEXT = st.one_of(HOSTILE_TEXT, st.text(max_size=30))
IDS = st.one_of(
    st.sampled_from(["apt_0001", "apt_0030", "pat_oliver_bennett", "cli_amara_okafor", "cli_tom_lindqvist",
                     "loc_central", "loc_hudson", "type_follow_up", "type_back_care_class", "type_telehealth",
                     "res_central_studio", "hld_missing"]),
    TEXT,
)
DATES = st.one_of(
    st.sampled_from(["2025-01-20", "2025-01-21", "2025-10-01", "2025-10-31", "0001-01-01", "9999-12-31",
                     "2025-02-30", "2025-1-1", "20250120"]),
    st.dates().map(str),
    TEXT,
)
INSTANTS = st.one_of(
    st.sampled_from(["2025-01-21T09:00:00Z", "2025-01-21T10:00:00+01:00", "2025-01-21T09:00:00",
                     "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2025-03-30T01:30:00+00:00"]),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    DATES,
    TEXT,
)
INTS = st.one_of(st.sampled_from(["0", "1", "15", "1440", "1441", "-1", str(2**31), str(2**63), "9" * 40]),
                 st.integers(-(2**64), 2**64).map(str), TEXT)
ZONES = st.one_of(st.sampled_from(["Europe/London", "America/New_York", "UTC", "Pacific/Kiritimati", "", "Mars/Base"]), TEXT)
STATUS_LISTS = st.one_of(st.lists(st.sampled_from([*STATUSES, "", " ", "bogus"]), max_size=4).map(",".join), TEXT)


def options(**choices) -> st.SearchStrategy[list[str]]:
    """Some of the options, each with a value from its strategy (a flag: value None)."""
    items = sorted(choices.items())

    @st.composite
    def build(draw):
        argv: list[str] = []
        for name, values in items:
            if draw(st.booleans()):
                if values is None:
                    argv.append(name)
                else:
                    value = draw(values)
                    argv += [f"{name}={value}"] if draw(st.booleans()) else [name, value]
        return argv

    return build()


COMMANDS = st.one_of(
    st.tuples(st.just(["availability"]), options(**{
        "--appointment-type": IDS, "--start-date": DATES, "--end-date": DATES, "--clinician": IDS,
        "--location": IDS, "--remote": st.sampled_from(["true", "false", "maybe"]), "--timezone": ZONES,
        "--round-robin": st.sampled_from(["random", "BALANCED", "NONE", "COMBINED", "x"]), "--resource": IDS,
        "--duration": INTS, "--interval": INTS, "--first-available": None, "--seed": INTS})),
    st.tuples(st.just(["holds", "create"]), options(**{
        "--appointment-type": IDS, "--clinician": IDS, "--start": INSTANTS, "--date": DATES,
        "--start-time": TEXT, "--duration": INTS, "--location": IDS, "--room": IDS, "--remote": None})),
    st.tuples(st.tuples(st.just("holds"), st.sampled_from(["get", "release"]), IDS).map(list), st.just([])),
    st.tuples(st.just(["holds", "list"]), options(**{
        "--status": st.one_of(st.sampled_from(["active", "confirmed", "released", "expired"]), TEXT),
        "--created-by": TEXT, "--limit": INTS, "--offset": INTS})),
    st.tuples(st.tuples(st.just("holds"), st.just("confirm"), IDS).map(list), options(**{
        "--patient": IDS, "--new-patient-first-name": TEXT, "--new-patient-last-name": TEXT,
        "--new-patient-email": TEXT, "--new-patient-phone": TEXT, "--new-patient-dob": DATES,
        "--attendee-name": TEXT, "--attendee-email": TEXT})),
    st.tuples(st.just(["appointments", "list"]), options(**{
        "--limit": INTS, "--offset": INTS, "--patient": IDS, "--clinician": IDS, "--status": TEXT,
        "--status-in": STATUS_LISTS, "--date-gte": INSTANTS, "--date-lte": INSTANTS,
        "--appointment-type": IDS, "--location": IDS})),
    st.tuples(st.tuples(st.just("appointments"), st.sampled_from(["get", "cancel"]), IDS).map(list),
              options(**{"--reason": TEXT})),
    st.tuples(st.just(["appointments", "create"]), options(**{
        "--title": TEXT, "--start-time": INSTANTS, "--end-time": INSTANTS, "--patient": IDS, "--clinician": IDS,
        "--appointment-type": IDS, "--location": IDS, "--room": IDS, "--status": TEXT, "--remote": None,
        "--description": TEXT, "--attendee-name": TEXT, "--attendee-email": TEXT, "--episode": IDS,
        "--idempotency-key": TEXT, "--allow-overlap": TEXT})),
    st.tuples(st.tuples(st.just("appointments"), st.just("update"), IDS).map(list), options(**{
        "--title": TEXT, "--description": TEXT, "--attendee-name": TEXT, "--attendee-email": TEXT,
        "--start-time": INSTANTS, "--end-time": INSTANTS, "--allow-overlap": TEXT, "--status": TEXT})),
    st.tuples(st.just(["patients", "search"]), st.tuples(TEXT, options(**{"--limit": INTS, "--offset": INTS}))
              .map(lambda t: [t[0], *t[1]])),
    st.tuples(st.tuples(st.just("patients"), st.just("get"), IDS).map(list), st.just([])),
    # anything at all after a JSON subcommand (with none, the UI would open)
    st.tuples(st.sampled_from(["availability", "holds", "appointments", "patients"]).map(lambda c: [c]),
              st.lists(TEXT, max_size=4)),
).map(lambda pair: [*pair[0], *pair[1]])
GLOBALS = options(**{"--operator": TEXT, "--now": INSTANTS})

TABLES = ("appointments", "holds", "patients", "status_history", "change_log", "appointment_resources",
          "hold_resources", "idempotency_keys")


def digest(path: Path) -> str:
    """A cheap fingerprint of every table a command can write."""
    with sqlite3.connect(path) as conn:
        rows = [list(conn.execute(f"SELECT * FROM {table} ORDER BY 1")) for table in TABLES]  # noqa: S608
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.fixture(scope="module")
def clinic(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "clinic.db"
    assert invoke(path, ["load", str(SAMPLE)])[0] == 0
    return path


def invoke(path: Path, argv: list[str]) -> tuple[int, str, str, float]:
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--db", str(path), "--now", NOW, *argv])
    return code, out.getvalue(), err.getvalue(), time.monotonic() - started


def check_envelope(code: int, stdout: str, stderr: str) -> dict:
    assert code in (0, 1, 2)
    assert "Traceback" not in stderr
    document = json.loads(stdout)  # exactly one JSON document
    assert set(document) >= {"data", "meta"} and document["meta"]["request_id"].startswith("req_")
    if code == 0:
        assert "error" not in document
    else:
        assert document["data"] is None
        assert set(document["error"]) == {"code", "message", "details"}
    return document


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize="FRONTDESK_FUZZ_EXAMPLES" not in os.environ)  # CI: the same examples each run
@given(command=COMMANDS, global_options=GLOBALS)
def test_no_command_line_crashes_hangs_or_changes_anything_when_refused(clinic, command, global_options):
    argv = [*command, *global_options]
    before = digest(clinic)
    code, stdout, stderr, seconds = invoke(clinic, argv)
    check_envelope(code, stdout, stderr)
    assert seconds < 5, argv
    if code != 0:
        assert digest(clinic) == before, argv


@pytest.mark.parametrize(
    "argv",
    [
        ["availability", "--appointment-type", "type_follow_up", "--start-date", "9999-12-30", "--end-date",
         "9999-12-31", "--timezone", "America/New_York"],
        ["appointments", "create", "--title", "x", "--start-time", "2025-01-21T09:00:00Z", "--end-time",
         "2025-01-21T09:30:00Z", "--attendee-email=--"],
        ["appointments", "list", "--offset", str(2**63)],
        ["patients", "search", b"caf\xe9".decode("utf-8", "surrogateescape")],
        ["holds", "get", ""],
    ],
)
def test_hostile_command_lines_through_a_real_process(clinic, tmp_path, argv):
    copy = tmp_path / "copy.db"
    with sqlite3.connect(clinic) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    done = subprocess.run(
        [sys.executable, "-m", "frontdesk", "--db", str(copy), "--now", NOW, *argv],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        timeout=30,
    )
    document = check_envelope(done.returncode, done.stdout.decode(), done.stderr.decode())
    assert document["error"]["code"] == "VALIDATION_ERROR"
