"""Shared fixtures: a fresh database file, a fake clock, a service context."""

from __future__ import annotations

# The throwaway PostgreSQL cluster fixtures (postgres_cluster, postgres_url).
pytest_plugins = ["postgres_cluster"]

import shutil
from datetime import UTC, datetime

import pytest

from frontdesk.clock import FakeClock
from frontdesk.services.context import Context
from frontdesk.services.demo import build_demo


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2025, 1, 20, 8, 0, tzinfo=UTC))


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'frontdesk.db'}"


@pytest.fixture
def ctx(db_url, clock) -> Context:
    context = Context.open(db_url, clock=clock, operator="tester")
    yield context
    context.db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine_ctx(request, ctx):
    """An empty clinic on SQLite and on PostgreSQL: SQL the two read differently (row values,
    ordered UNION branches, search indexes) must give the same answers on both."""
    if request.param == "sqlite":
        yield ctx
        return
    other = Context.open(request.getfixturevalue("postgres_url"), clock=ctx.clock, operator="tester")
    yield other
    other.db.dispose()


# --- the terminal UI's desks: the demo clinic with a fake clock -----------------------------------

UI_NOW = datetime(2025, 1, 20, 8, 0, tzinfo=UTC)  # Monday, 08:00 in London (tui_pilot.NOW)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """The demo clinic built once; every test gets its own copy of the file."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    ctx = Context.open(f"sqlite:///{path}", clock=FakeClock(UI_NOW), operator="builder")
    build_demo(ctx)
    ctx.db.dispose()
    return path


@pytest.fixture
def desk(demo_template, tmp_path, monkeypatch):
    """A context for this desk: a copy of the demo database, a fake clock, its own config folder."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = tmp_path / "frontdesk.db"
    shutil.copy(demo_template, path)
    ctx = Context.open(f"sqlite:///{path}", clock=FakeClock(UI_NOW), operator="desk-1")
    yield ctx
    ctx.db.dispose()


@pytest.fixture
def empty_desk(tmp_path, monkeypatch):
    """A desk on a database without a clinic, named by a relative URL so pictures don't show tmp_path."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    ctx = Context.open("sqlite:///empty.db", clock=FakeClock(UI_NOW), operator="desk-1")
    yield ctx
    ctx.db.dispose()


@pytest.fixture
def other_desk(desk):
    """A second terminal on the same database (its own engine and connections)."""
    ctx = Context.open(str(desk.db.url), clock=desk.clock, operator="desk-2")
    yield ctx
    ctx.db.dispose()
