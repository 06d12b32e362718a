"""A desk whose terminal closes (SIGHUP) or that is told to stop (SIGTERM) gives its holds
back before it exits. A real `frontdesk` UI process on a pseudo-terminal, a real signal."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from booking_clinic import load

from frontdesk.clock import FakeClock
from frontdesk.services.context import Context
from frontdesk.services.holds import get_hold, list_holds
from frontdesk.services.objects import HoldFilter

SRC = Path(__file__).resolve().parent.parent / "src"
NOW = "2025-01-20T08:00:00Z"
DEADLINE_SECONDS = 60  # a bound, not a clock: the UI's start-up on a busy machine

# Test hook, not product code: the desk's UI as `frontdesk --db DB --now NOW` runs it, whose
# first screen holds Sarah's 09:00 follow-up, as picking that slot by keys would. It first
# takes the pseudo-terminal as its controlling terminal, so closing it hangs the desk up.
DESK = """
import fcntl, sys, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)

from datetime import UTC, datetime
from frontdesk.services.holds import create_hold
from frontdesk.services.objects import HoldRequest
from frontdesk.tui import app as tui

mounted = tui.FrontdeskApp.on_mount

def on_mount(self):
    mounted(self)
    hold = create_hold(self.ctx, HoldRequest(appointment_type_id="type_followup", clinician_id="cli_sarah",
                                             start=datetime(2025, 1, 20, 9, tzinfo=UTC), location_id="loc_central"))
    self.owned_holds.add(hold.id)

tui.FrontdeskApp.on_mount = on_mount
from frontdesk.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


class Terminal:
    """A pseudo-terminal of 80x24 whose screen output is read and thrown away (a terminal
    that is not read stops its program once its buffer fills)."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while not self._stop.is_set():
            if select.select([self.master], [], [], 0.05)[0]:
                try:
                    os.read(self.master, 65536)
                except OSError:  # the program's side is closed: nothing more to read
                    return

    def close(self) -> None:
        """Close the terminal, as a closed window or a dropped SSH connection does."""
        self._stop.set()
        self._reader.join()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "desk.db"
    ctx = Context.open(f"sqlite:///{path}", clock=FakeClock(datetime(2025, 1, 20, 8, 1, tzinfo=UTC)), operator="loader")
    load(ctx)
    yield path, ctx
    ctx.db.dispose()


@pytest.fixture
def desk_process(database, tmp_path):
    """The desk's UI running on its own terminal, once its hold is in the database."""
    path, ctx = database
    terminal = Terminal()
    env = {**os.environ, "PYTHONPATH": str(SRC), "TERM": "xterm-256color", "FRONTDESK_OPERATOR": "signal-desk",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}
    process = subprocess.Popen(
        [sys.executable, "-c", DESK, "--db", str(path), "--now", NOW],
        stdin=terminal.slave, stdout=terminal.slave, stderr=terminal.slave,
        env=env, start_new_session=True, close_fds=True,
    )
    os.close(terminal.slave)
    try:
        held = wait_for(lambda: list_holds(ctx, HoldFilter(created_by="signal-desk")).items, process)
        yield process, terminal, held[0].id, ctx
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        terminal.close()


def wait_for(condition, process):
    """Poll until condition() is true, or fail after the deadline (or when the desk died)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        assert process.poll() is None, f"the desk exited early ({process.returncode})"
        time.sleep(0.05)
    raise AssertionError("nothing happened before the deadline")


def exit_status(process) -> int:
    return process.wait(timeout=DEADLINE_SECONDS)


def test_closing_the_terminal_releases_the_desks_hold(desk_process):
    process, terminal, hold_id, ctx = desk_process
    assert get_hold(ctx, hold_id).status == "active"
    terminal.close()  # the kernel sends the desk SIGHUP
    assert exit_status(process) == 128 + signal.SIGHUP
    assert get_hold(ctx, hold_id).status == "released"
    assert list_holds(ctx, HoldFilter()).items == []


def test_sigterm_releases_the_desks_hold_and_the_desk_exits(desk_process):
    process, terminal, hold_id, ctx = desk_process
    process.send_signal(signal.SIGTERM)
    assert exit_status(process) == 128 + signal.SIGTERM
    assert get_hold(ctx, hold_id).status == "released"


def test_sighup_sent_by_another_program_releases_the_hold_too(desk_process):
    process, terminal, hold_id, ctx = desk_process
    process.send_signal(signal.SIGHUP)
    assert exit_status(process) == 128 + signal.SIGHUP
    assert get_hold(ctx, hold_id).status == "released"
