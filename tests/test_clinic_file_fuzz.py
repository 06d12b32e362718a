"""Fuzzing clinic files: the sample clinic and the booking tests' clinic, mutated by
hypothesis (hostile values, keys dropped, rows duplicated, huge numbers, bad RRULEs, deep
nesting), loaded with `frontdesk load` in-process over an empty database or over the loaded
sample (a reload). Whatever the file: exit 0 or VALIDATION_ERROR only, no traceback, under
5 s, the database unchanged after a refusal, and after a file that loaded, `availability`
and `holds create` for its types still work (nothing poisoned).

A bounded number of examples by default (CI); FRONTDESK_FUZZ_EXAMPLES=600 for a longer run.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import sqlite3
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from booking_clinic import CLINIC
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.cli.main import main
from frontdesk.store.clinic_file import read_clinic_file

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "clinic.toml"
EXAMPLES = int(os.environ.get("FRONTDESK_FUZZ_EXAMPLES", "30"))
NOW = "2025-01-20T08:00:00Z"
DEEP = "__deeply_nested__"  # replaced in the file's text: json.dumps itself would recurse

HOSTILE_VALUES = st.sampled_from([
    0, -1, 1, 59, 1440, 1441, 2**31, 2**63, -(2**63) - 1, 10**30, 10**400, 1.5, True, False, None, [], {}, [[]],
    "", " ", "x" * 5000, "a" * 201, "nul\x00", "\x1b[31mred\x1b]0;pwned\x07", "\u202e", "caf\udce9", "😀",
    "9999-12-31", "0001-01-01", "2025-02-30", "9999-12-31T23:59", "0001-01-01T00:00",
    "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2025-01-20T09:00:00",
    "25:00", "24:00", "00:00", "-01:00", "Mars/Base", "UTC", "mon", "funday", ["mon", "mon"], ["xx"],
    "pat_ruby_clarke", "cli_amara_okafor", "loc_central", "res_room_1", "type_follow_up", DEEP,
])
VALUES = st.one_of(HOSTILE_VALUES, st.integers(), st.text(max_size=12), st.booleans(),
                   st.lists(st.integers(-5, 2000), max_size=3))
BY_PARTS = ("BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS",
            "INTERVAL", "COUNT", "UNTIL", "WKST", "X-NAME")
RRULES = st.one_of(
    st.sampled_from([
        "FREQ=DAILY;INTERVAL=0", "FREQ=DAILY;INTERVAL=-1", "FREQ=DAILY;INTERVAL=99999999999",
        "FREQ=HOURLY;BYSECOND=70", "FREQ=HOURLY;UNTIL=99991231T235959Z", "FREQ=HOURLY;BYYEARDAY=400",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=HOURLY;BYMONTH=4;BYMONTHDAY=31", "FREQ=YEARLY;BYDAY=60MO",
        "FREQ=MONTHLY;BYSETPOS=400;BYDAY=MO", "FREQ=WEEKLY;COUNT=99999999", "FREQ=DAILY;UNTIL=1", "FREQ=SECONDLY",
        "FREQ=DAILY;INTERVAL=7;BYDAY=TU", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=HOURLY;BYSECOND=60",
        "RRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "",
    ]),
    st.builds(
        lambda freq, parts: ";".join([f"FREQ={freq}", *(f"{name}={value}" for name, value in parts)]),
        st.sampled_from(["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"]),
        st.lists(st.tuples(st.sampled_from(BY_PARTS), st.one_of(
            st.integers(-500, 500).map(str), st.sampled_from(["MO", "1MO", "-1FR", "53SU", "20251231", "22000101T000000Z",
                                                               "99991231", "1,2,3", "0", ""])),
        ), max_size=3, unique_by=lambda part: part[0]),
    ),
)


def _paths(document) -> list[tuple]:
    """Every place in the document: tables, lists and values."""
    out = []

    def walk(value, path):
        out.append(path)
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, (*path, i))

    walk(document, ())
    return out


def _at(document, path):
    for step in path:
        document = document[step]
    return document


@st.composite
def mutated_files(draw) -> tuple[str, dict]:
    """(which base, the mutated document)."""
    base = draw(st.sampled_from(["sample", "booking"]))
    document = copy.deepcopy(BASES[base])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["set", "set", "delete", "duplicate", "rrule", "unknown_key"]))
        places = [p for p in _paths(document) if p]
        if kind == "rrule" and isinstance(document, dict) and isinstance(document.get("blocks"), list) \
                and document["blocks"]:
            block = draw(st.sampled_from(document["blocks"]))
            if isinstance(block, dict):
                block["rrule"] = draw(RRULES)
            continue
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent, last = _at(document, path[:-1]), path[-1]
        if kind in ("set", "rrule"):
            parent[last] = draw(VALUES)
        elif kind == "delete":
            del parent[last]
        elif kind == "duplicate" and isinstance(parent, list):
            twin = copy.deepcopy(parent[last])
            if isinstance(twin, dict) and "id" in twin and draw(st.booleans()):
                twin["id"] = f"{twin['id']}_twin"  # a new row, the same time: a clash
            parent.append(twin)
        elif kind == "unknown_key" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["bogus", "ID", "Start", ""]))] = 1
    return base, document


BASES = {"sample": read_clinic_file(SAMPLE), "booking": copy.deepcopy(CLINIC)}


def invoke(db: Path, *argv: str) -> tuple[int, dict, str, float]:
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--db", str(db), "--now", NOW, *argv])
    return code, json.loads(out.getvalue()), err.getvalue(), time.monotonic() - started


def digest(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        rows = [sorted(map(repr, conn.execute(f"SELECT * FROM {t}"))) for t in tables]  # noqa: S608
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.fixture(scope="module")
def databases(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clinic_fuzz")
    empty, loaded = folder / "empty.db", folder / "sample.db"
    assert invoke(empty, "appointments", "list")[0] == 0  # creates the schema
    assert invoke(loaded, "load", str(SAMPLE))[0] == 0
    return {"empty": empty, "sample": loaded}


def _copy(source: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def _file_text(document: dict) -> str:
    text = json.dumps(document, ensure_ascii=False)
    return text.replace(json.dumps(DEEP), "[" * 5000 + "]" * 5000)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize="FRONTDESK_FUZZ_EXAMPLES" not in os.environ)  # CI: the same examples each run
@given(file=mutated_files(), over=st.sampled_from(["empty", "sample"]))
def test_no_clinic_file_crashes_hangs_or_poisons(databases, tmp_path_factory, file, over):
    base, document = file
    folder = tmp_path_factory.mktemp("example")
    db = _copy(databases[over], folder / "clinic.db")
    path = folder / "clinic.json"
    path.write_text(_file_text(document), encoding="utf-8", errors="surrogatepass")
    before = digest(db)

    code, result, stderr, seconds = invoke(db, "load", str(path))
    assert "Traceback" not in stderr
    assert seconds < 5
    if code != 0:
        assert (code, result["error"]["code"]) == (1, "VALIDATION_ERROR"), result["error"]
        assert digest(db) == before
        return
    # Loaded: every type still answers availability, and a slot it offers can be held.
    with sqlite3.connect(db) as conn:
        type_ids = [t for (t,) in conn.execute("SELECT id FROM appointment_types ORDER BY id")]
    for type_id in type_ids:
        code, slots, stderr, seconds = invoke(db, "availability", "--appointment-type", type_id,
                                              "--start-date", "2025-01-20", "--end-date", "2025-01-26")
        assert code == 0 and seconds < 5, (type_id, slots)
        if slots["data"]:
            slot = slots["data"][0]
            argv = ["holds", "create", "--appointment-type", type_id, "--clinician", slot["clinician_id"],
                    "--start", slot["start_time"]]
            argv += ["--remote"] if slot["is_remote"] else ["--location", slot["location_id"]]
            code, hold, stderr, seconds = invoke(db, *argv)
            assert code == 0 and seconds < 5, (argv, hold)


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,
    '{"locations": ' + "[" * 3000 + "]" * 3000 + "}",
    '{"clinic": {"hold_minutes": ' + "9" * 5000 + "}}",
])
def test_deeply_nested_or_huge_json_is_refused_with_its_place(databases, tmp_path, text):
    db = _copy(databases["empty"], tmp_path / "clinic.db")
    path = tmp_path / "clinic.json"
    path.write_text(text)
    code, result, stderr, seconds = invoke(db, "load", str(path))
    assert (code, result["error"]["code"]) == (1, "VALIDATION_ERROR") and "Traceback" not in stderr
    assert result["error"]["details"]["errors"][0].startswith(f"{path}: ")
