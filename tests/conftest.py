"""Shared fixtures: a fresh database file, a fake clock, a service context."""

from __future__ import annotations

# The throwaway PostgreSQL cluster fixtures (postgres_cluster, postgres_url).
pytest_plugins = ["postgres_cluster"]

from datetime import UTC, datetime

import pytest

from frontdesk.clock import FakeClock
from frontdesk.services.context import Context


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
