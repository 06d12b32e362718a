"""Patient search reads its matches in the list's order and stops at the page: each patient's
search_key follows the name order (migration 0009), renumbered when a gap is used up."""

from __future__ import annotations

import random

import pytest
from alembic import command
from sqlalchemy import event, insert, text

from frontdesk.domain.patients import search_name
from frontdesk.services.context import Context
from frontdesk.services.patients import create_patient, search_patients, update_patient
from frontdesk.store import search_keys
from frontdesk.store.db import Database
from frontdesk.store.migrate import alembic_config, upgrade
from frontdesk.store.models import Clinic, Patient


def names(page) -> list[str]:
    return [f"{p.first_name} {p.last_name}" for p in page.items]


def every_page(ctx, typed: str, limit: int, *, by: str) -> list[str]:
    """All the patients a search finds, page after page, by cursor or by offset."""
    found, offset, cursor = [], 0, None
    while True:
        page = search_patients(ctx, typed, limit=limit, offset=offset, cursor=cursor)
        found += [p.id for p in page.items]
        if not page.has_more:
            return found
        offset, cursor = (page.next_offset, None) if by == "offset" else (0, page.next_cursor)


def test_one_or_two_characters_find_the_names_with_a_word_starting_so(engine_ctx):
    for first, last in [("Ann", "Patel"), ("Pia", "Smith"), ("Jo", "Kemp"), ("Émile", "Zola"), ("Sam", "O'Brien")]:
        create_patient(engine_ctx, first, last)
    assert names(search_patients(engine_ctx, "p")) == ["Ann Patel", "Pia Smith"]  # not Kemp's inner p
    assert names(search_patients(engine_ctx, "PA")) == ["Ann Patel"]
    assert names(search_patients(engine_ctx, "em")) == ["Émile Zola"]  # accents and case ignored
    assert names(search_patients(engine_ctx, "br")) == ["Sam O'Brien"]  # a word after the apostrophe
    assert names(search_patients(engine_ctx, "12")) == []  # digits start no name's word
    # Three characters or more still find a part of a name anywhere in it.
    assert names(search_patients(engine_ctx, "emp")) == ["Jo Kemp"]


def test_matches_come_in_name_order_and_every_page_by_cursor_is_the_pages_by_offset(engine_ctx):
    rng = random.Random(3)
    made = []
    for n in range(45):  # created in no order; many share a surname: ties broken by id
        last = rng.choice(["Patel", "Patterson", "Kapadia", "Smith"])
        made.append(create_patient(engine_ctx, rng.choice(["Asha", "Ben", "Cara", "Dev"]), last, email=f"p{n}@example.org"))
    for typed, holds in (("pat", lambda p: "pat" in search_name(p.first_name, p.last_name)),
                         ("pa", lambda p: p.last_name.startswith("Pat")),
                         ("", lambda p: True)):
        expected = [p.id for p in sorted((p for p in made if holds(p)),
                                         key=lambda p: (search_name(p.first_name, p.last_name), p.id))]
        assert len(expected) > 7, typed
        assert every_page(engine_ctx, typed, 7, by="cursor") == every_page(engine_ctx, typed, 7, by="offset") == expected, typed


def test_a_renamed_patient_is_found_under_the_new_name_in_its_new_place(engine_ctx):
    adams = create_patient(engine_ctx, "Ann", "Adams")
    for first, last in [("Bob", "Brown"), ("Cy", "Clark"), ("Di", "Dunn")]:
        create_patient(engine_ctx, first, last)
    update_patient(engine_ctx, adams.id, {"last_name": "Crane"})
    assert names(search_patients(engine_ctx, "")) == ["Bob Brown", "Cy Clark", "Ann Crane", "Di Dunn"]
    assert names(search_patients(engine_ctx, "c")) == ["Cy Clark", "Ann Crane"]
    assert names(search_patients(engine_ctx, "cran")) == ["Ann Crane"]
    assert search_patients(engine_ctx, "adams").items == [] and search_patients(engine_ctx, "ad").items == []
    first = search_patients(engine_ctx, "", limit=2)
    assert names(search_patients(engine_ctx, "", limit=2, cursor=first.next_cursor)) == ["Ann Crane", "Di Dunn"]


def test_order_and_paging_hold_across_a_renumbering(ctx, monkeypatch):
    """Each new patient here sorts just after the one before and before `Bc`: every one takes
    the middle of a gap half the last one's, until none is left and all keys are renumbered."""
    renumbered = []
    spread = search_keys.spread_search_keys
    monkeypatch.setattr(search_keys, "spread_search_keys", lambda *args: (renumbered.append(1), spread(*args)))
    create_patient(ctx, "Jo", "Ba")
    create_patient(ctx, "Jo", "Bc")
    create_patient(ctx, "Jo", "Bb")  # the newcomers' neighbour above
    before = search_patients(ctx, "b", limit=1)  # a cursor after Ba, taken before the renumbering
    for k in range(1, 40):
        create_patient(ctx, "Jo", "Ba" + "a" * k)
    assert renumbered
    expected = sorted(["Ba", "Bb", "Bc"] + ["Ba" + "a" * k for k in range(1, 40)], key=lambda n: search_name("Jo", n))
    assert [p.last_name for p in search_patients(ctx, "", limit=100).items] == expected
    assert [p.last_name for p in search_patients(ctx, "jo ba", limit=100).items] == expected[:40]
    by_cursor = every_page(ctx, "b", 6, by="cursor")
    assert by_cursor == every_page(ctx, "b", 6, by="offset") and len(by_cursor) == 42
    later = search_patients(ctx, "b", limit=3, cursor=before.next_cursor)
    assert [p.last_name for p in later.items] == expected[1:4]  # the old cursor still seeks right
    created = create_patient(ctx, "Jo", "Ba" + "a" * 40)  # after the renumbering: placed as before
    assert [p.id for p in search_patients(ctx, "", limit=100).items].index(created.id) == 40
    _indexes_hold_the_table(ctx)


def test_keys_spread_at_either_end_of_the_order(ctx):
    """The first and last patients' keys pushed to the ends of the range: a newcomer before
    the first or after the last still finds room (the keys nearby are spread)."""
    for last in ("Moss", "Nash", "Oakes"):
        create_patient(ctx, "Jo", last)
    with ctx.db.engine.begin() as conn:
        conn.execute(text("UPDATE patients SET search_key = :k WHERE last_name = 'Oakes'"), {"k": 2**62 - 2})
        conn.execute(text("UPDATE patients SET search_key = :k WHERE last_name = 'Moss'"), {"k": -(2**62) + 2})
    for last in ("Pike", "Quinn", "Lamb", "Kerr"):
        create_patient(ctx, "Jo", last)
    expected = ["Kerr", "Lamb", "Moss", "Nash", "Oakes", "Pike", "Quinn"]
    assert [p.last_name for p in search_patients(ctx, "jo").items] == expected
    assert [p.last_name for p in search_patients(ctx, "").items] == expected
    _indexes_hold_the_table(ctx)


def _indexes_hold_the_table(ctx) -> None:
    """FTS5's own check that both search indexes hold exactly the patients' current rows."""
    with ctx.db.engine.begin() as conn:
        for name in ("patients_fts", "patients_words"):
            conn.execute(text(f"INSERT INTO {name} ({name}, rank) VALUES ('integrity-check', 1)"))


def test_patients_inserted_without_the_models_are_placed_in_name_order(ctx):
    """A bulk insert (a benchmark, a site's import) gives no search_key: the trigger places
    each patient between its neighbours."""
    rows = [{"id": f"pat_{i:02d}", "first_name": "Jo", "last_name": last, "search_name": search_name("Jo", last)}
            for i, last in enumerate(random.Random(1).sample([f"Lee{n:02d}" for n in range(30)], 30))]
    with ctx.db.engine.begin() as conn:
        conn.execute(insert(Clinic.__table__), [{"id": 1, "name": "Bulk"}])
        conn.execute(insert(Patient.__table__), rows)
    expected = [r["id"] for r in sorted(rows, key=lambda r: (r["search_name"], r["id"]))]
    assert every_page(ctx, "lee", 4, by="cursor") == every_page(ctx, "le", 4, by="cursor") == expected


def _plans(ctx) -> list[list[str]]:
    seen: list[list[str]] = []

    def explain(conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT") and " MATCH " in statement:
            rows = conn.connection.driver_connection.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            seen.append([row[3] for row in rows])

    event.listen(ctx.db.engine, "before_cursor_execute", explain)
    return seen


@pytest.mark.parametrize("typed", ["pat", "pa", "p", "ann@ex", "atel1"])
def test_sqlite_reads_the_search_index_in_name_order_without_sorting(ctx, typed):
    for n in range(30):
        create_patient(ctx, "Ann", f"Patel{n}", email=f"ann{n}@example.org", phone=f"020 7946 {n:04d}")
    first = search_patients(ctx, typed, limit=5)
    plans = _plans(ctx)
    search_patients(ctx, typed, limit=5)
    search_patients(ctx, typed, limit=5, cursor=first.next_cursor)
    assert len(plans) == 2
    for plan in plans:
        # Driven from the FTS table (its rowid order is the page's), each patient by its key.
        assert plan[0].startswith("SCAN patients_") and "VIRTUAL TABLE" in plan[0], plan
        assert not [step for step in plan if "TEMP B-TREE" in step], plan


def test_a_database_from_before_is_upgraded_in_name_order_and_downgrades(tmp_path, clock):
    """Migration 0009 on a clinic that has patients: keys renumbered in name order, the word
    index filled; and back to 0008, whose trigram index still names the right patients."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Database(url)
    upgrade(old.engine, "0008")
    lasts = ["Zimmer", "Adams", "Moss", "Abbott", "Young"]
    with old.engine.begin() as conn:  # 0008 keyed them in the order they came
        conn.execute(insert(Patient.__table__), [
            {"id": f"pat_{i}", "first_name": "Jo", "last_name": last, "search_name": search_name("Jo", last)}
            for i, last in enumerate(lasts)])
    old.dispose()
    ctx = Context.open(url, clock=clock, operator="tester")  # upgrades
    assert [p.last_name for p in search_patients(ctx, "").items] == sorted(lasts)
    assert [p.last_name for p in search_patients(ctx, "a").items] == ["Abbott", "Adams"]
    assert [p.last_name for p in search_patients(ctx, "jo", limit=2, cursor=search_patients(
        ctx, "jo", limit=2).next_cursor).items] == ["Moss", "Young"]
    command.downgrade(alembic_config(ctx.db.engine), "0008")
    with ctx.db.engine.begin() as conn:
        found = conn.execute(text(
            "SELECT p.last_name FROM patients_fts JOIN patients p ON p.search_key = patients_fts.rowid"
            " WHERE patients_fts MATCH 'moss'")).scalars().all()
        assert found == ["Moss"]
        assert not conn.execute(text("SELECT name FROM sqlite_master WHERE name = 'patients_words'")).all()
    upgrade(ctx.db.engine)
    assert [p.last_name for p in search_patients(ctx, "mo").items] == ["Moss"]
    ctx.db.dispose()
