"""The UI meets a busy database: it tries again by itself, then says what the command line says."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from tui_pilot import notifications

from frontdesk.clock import FakeClock
from frontdesk.services import holds
from frontdesk.services.clinic import default_sample, load_clinic_file
from frontdesk.services.context import Context
from frontdesk.services.objects import HoldRequest
from frontdesk.store.db import BUSY_MESSAGE
from frontdesk.tui.app import create_app
from frontdesk.tui.screens import base

NOW = datetime(2025, 1, 20, 8, 0, tzinfo=UTC)
REQUEST = HoldRequest(
    appointment_type_id="type_follow_up",
    clinician_id="cli_amara_okafor",
    location_id="loc_central",
    start=datetime(2025, 1, 21, 14, 0, tzinfo=UTC),
)


@pytest.fixture
def desk(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("FRONTDESK_BUSY_TIMEOUT", "0.2")
    monkeypatch.setattr(base, "BUSY_RETRY_PAUSES", (0, 0))  # the retries, without real pauses
    path = tmp_path / "frontdesk.db"
    ctx = Context.open(f"sqlite:///{path}", clock=FakeClock(NOW), operator="desk-1")
    load_clinic_file(ctx, default_sample())
    yield ctx, str(path)
    ctx.db.dispose()


async def _call(app, pilot, function):
    """Run `function` as a screen's service call; what came back, and the notifications."""
    results: list = []
    app.screen.call_service("probe", function, results.append)
    for _ in range(6):
        await pilot.pause()
        await app.workers.wait_for_complete()
    return results, notifications(app)


async def test_a_busy_database_is_tried_again_by_itself(desk):
    ctx, path = desk
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)  # another desk, mid-write
    other.execute("BEGIN IMMEDIATE")
    attempts = []

    def hold_once_the_other_desk_is_done(ctx):
        attempts.append(1)
        try:
            return holds.create_hold(ctx, REQUEST)
        finally:
            if other.in_transaction:
                other.rollback()  # the other desk finishes after the first try

    app = create_app(ctx)
    async with app.run_test(notifications=True) as pilot:
        results, notes = await _call(app, pilot, hold_once_the_other_desk_is_done)
    other.close()
    assert len(attempts) == 2, (results, notes)
    assert results and results[0].status == "active"
    assert not [n for n in notes if n.startswith("Database busy")]


async def test_a_database_busy_past_the_retries_says_so(desk):
    ctx, path = desk
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    attempts = []

    def hold(ctx):
        attempts.append(1)
        return holds.create_hold(ctx, REQUEST)

    app = create_app(ctx)
    try:
        async with app.run_test(notifications=True) as pilot:
            results, notes = await _call(app, pilot, hold)
    finally:
        other.rollback()
        other.close()
    assert results == []
    assert len(attempts) == len(base.BUSY_RETRY_PAUSES) + 1
    assert f"Database busy\n{BUSY_MESSAGE}" in notes
