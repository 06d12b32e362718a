"""Finding patients at the desk: `patients search TEXT` and `patients get ID`."""

from __future__ import annotations

import pytest
from booking_clinic import load

from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.context import Context
from frontdesk.services.patients import get_patient, search_patients


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk(request, clock, tmp_path):
    """The test clinic on SQLite and on PostgreSQL: the search is SQL, so both must agree."""
    url = f"sqlite:///{tmp_path / 'p.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    ctx = Context.open(url, clock=clock, operator="tester")
    load(ctx)
    yield ctx
    ctx.db.dispose()


def ids(page):
    return [p.id for p in page.items]


def test_name_search_ignores_case_and_finds_part_of_a_name(desk):
    assert ids(search_patients(desk, "SMITH")) == ["pat_john_smith", "pat_ann_smithers"]
    assert ids(search_patients(desk, "john smith")) == ["pat_john_smith"]
    assert ids(search_patients(desk, "Smith John")) == ["pat_john_smith"]
    assert ids(search_patients(desk, "ary")) == ["pat_mary_jones"]


def test_email_phone_and_date_of_birth_are_searched(desk):
    assert ids(search_patients(desk, "mary.jones@example.ORG")) == ["pat_mary_jones"]
    assert ids(search_patients(desk, "+44 20 7946")) == ["pat_john_smith"]
    # Typed without the spaces the number was stored with.
    assert ids(search_patients(desk, "02079460123")) == ["pat_mary_jones"]
    assert ids(search_patients(desk, "1980-04-02")) == ["pat_john_smith"]
    assert ids(search_patients(desk, "1975")) == ["pat_mary_jones"]


def test_like_wildcards_are_taken_literally(desk):
    assert ids(search_patients(desk, "%")) == []
    assert ids(search_patients(desk, "_")) == []


def test_empty_text_lists_everyone_by_last_name_in_pages(desk):
    everyone = search_patients(desk, "")
    assert ids(everyone) == ["pat_mary_jones", "pat_john_smith", "pat_ann_smithers"]
    assert (everyone.has_more, everyone.next_offset) == (False, None)

    first = search_patients(desk, "  ", limit=2)
    assert ids(first) == ["pat_mary_jones", "pat_john_smith"]
    assert (first.has_more, first.next_offset) == (True, 2)
    rest = search_patients(desk, "", limit=2, offset=first.next_offset)
    assert ids(rest) == ["pat_ann_smithers"]
    assert (rest.has_more, rest.next_offset) == (False, None)


@pytest.mark.parametrize("limit, offset", [(0, 0), (101, 0), (20, -1)])
def test_paging_outside_the_limits_is_refused(ctx, limit, offset):
    with pytest.raises(FrontdeskError) as caught:
        search_patients(ctx, "", limit=limit, offset=offset)
    assert caught.value.code == "VALIDATION_ERROR"


def test_get_returns_every_field_and_unknown_ids_are_not_found(ctx):
    load(ctx)
    john = get_patient(ctx, "pat_john_smith")
    assert (john.first_name, john.last_name, john.email, john.phone) == ("John", "Smith", "john@example.com", "+44 20 7946 0000")
    assert john.date_of_birth.isoformat() == "1980-04-02"
    with pytest.raises(FrontdeskError) as caught:
        get_patient(ctx, "pat_nobody")
    assert caught.value.code == "NOT_FOUND"
