"""patient search follows the page: search_key in name order, a word-start index for short text

Revision ID: 0009
Revises: 0008

SQLite only (PostgreSQL's search is unchanged; search_key stays unused there).

`patients.search_key` now follows the list's order, (search_name, id), with gaps
(4294967296 apart after a renumbering; a new or renamed patient takes the midpoint of its
neighbours' keys, store/search_keys.py). Both FTS5 tables are keyed on it, so their rowid order
is the name order: a search reads its matches in order and stops at the page.

- `patients_fts` (0008's trigram table over search_name, phone_e164, email) is kept;
- `patients_words` (new): the name's words, accents and case ignored, with prefix indexes of
  one and two characters: "a name word starts with this" for text too short for trigrams.

The triggers keep both in step with `patients`; an insert that gives no search_key (a bulk
insert that bypasses the models) is placed between its neighbours by the insert trigger.
Renumbering sets keys far below any real key first (-2**63 + rank) and then to
rank * 2**32, so the unique index never sees two rows with one key; the update trigger
ignores those moves and both tables are rebuilt after.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

GAP = 2**32
FLOOR = -(2**62)  # real keys lie above it; a renumbering parks keys below it

_RENUMBER = (
    "UPDATE patients SET search_key = -9223372036854775807 + r.n FROM"
    " (SELECT id, row_number() OVER (ORDER BY search_name, id) AS n FROM patients) AS r"
    " WHERE patients.id = r.id",
    f"UPDATE patients SET search_key = (search_key + 9223372036854775807) * {GAP} WHERE search_key < {FLOOR}",
    "INSERT INTO patients_fts (patients_fts) VALUES ('rebuild')",
    "INSERT INTO patients_words (patients_words) VALUES ('rebuild')",
)

# The keys of the patients just before and just after the new one in name order.
_LOW = ("(SELECT search_key FROM patients WHERE (search_name, id) < (new.search_name, new.id)"
        " ORDER BY search_name DESC, id DESC LIMIT 1)")
_HIGH = ("(SELECT search_key FROM patients WHERE (search_name, id) > (new.search_name, new.id)"
         " ORDER BY search_name, id LIMIT 1)")

_TRIGGERS = (
    # A patient inserted without a key is placed between its neighbours (the models give one).
    "CREATE TRIGGER patients_fts_insert AFTER INSERT ON patients BEGIN"
    " UPDATE patients SET search_key = (SELECT CASE"
    "   WHEN lo IS NULL AND hi IS NULL THEN 0"
    f"  WHEN lo IS NULL THEN hi - {GAP}"
    f"  WHEN hi IS NULL THEN lo + {GAP}"
    "   WHEN hi - lo >= 2 THEN lo + (hi - lo) / 2 END"
    f"  FROM (SELECT {_LOW} AS lo, {_HIGH} AS hi))"
    " WHERE rowid = new.rowid AND new.search_key IS NULL;"
    " SELECT RAISE(ABORT, 'no search_key left between this patient''s neighbours: renumber the keys"
    " (frontdesk.store.search_keys.renumber_search_keys)')"
    "  WHERE (SELECT search_key FROM patients WHERE rowid = new.rowid) IS NULL;"
    " INSERT INTO patients_fts (rowid, search_name, phone_e164, email)"
    "  SELECT search_key, search_name, phone_e164, email FROM patients WHERE rowid = new.rowid;"
    " INSERT INTO patients_words (rowid, search_name)"
    "  SELECT search_key, search_name FROM patients WHERE rowid = new.rowid;"
    " END",
    "CREATE TRIGGER patients_fts_delete AFTER DELETE ON patients WHEN old.search_key IS NOT NULL BEGIN"
    " INSERT INTO patients_fts (patients_fts, rowid, search_name, phone_e164, email)"
    "  VALUES ('delete', old.search_key, old.search_name, old.phone_e164, old.email);"
    " INSERT INTO patients_words (patients_words, rowid, search_name)"
    "  VALUES ('delete', old.search_key, old.search_name);"
    " END",
    # A renumbering's moves (to and from below FLOOR) are left to the rebuild that follows it.
    "CREATE TRIGGER patients_fts_update AFTER UPDATE OF search_name, phone_e164, email, search_key ON patients"
    f" WHEN old.search_key > {FLOOR} AND new.search_key > {FLOOR} BEGIN"
    " INSERT INTO patients_fts (patients_fts, rowid, search_name, phone_e164, email)"
    "  VALUES ('delete', old.search_key, old.search_name, old.phone_e164, old.email);"
    " INSERT INTO patients_words (patients_words, rowid, search_name)"
    "  VALUES ('delete', old.search_key, old.search_name);"
    " INSERT INTO patients_fts (rowid, search_name, phone_e164, email)"
    "  VALUES (new.search_key, new.search_name, new.phone_e164, new.email);"
    " INSERT INTO patients_words (rowid, search_name) VALUES (new.search_key, new.search_name);"
    " END",
)

# 0008's triggers, for the downgrade (a new patient takes the next key).
_TRIGGERS_0008 = (
    "CREATE TRIGGER patients_fts_insert AFTER INSERT ON patients BEGIN"
    " UPDATE patients SET search_key = (SELECT coalesce(max(search_key), 0) + 1 FROM patients)"
    " WHERE rowid = new.rowid AND search_key IS NULL;"
    " INSERT INTO patients_fts (rowid, search_name, phone_e164, email)"
    " SELECT search_key, search_name, phone_e164, email FROM patients WHERE rowid = new.rowid;"
    " END",
    "CREATE TRIGGER patients_fts_delete AFTER DELETE ON patients BEGIN"
    " INSERT INTO patients_fts (patients_fts, rowid, search_name, phone_e164, email)"
    " VALUES ('delete', old.search_key, old.search_name, old.phone_e164, old.email);"
    " END",
    "CREATE TRIGGER patients_fts_update AFTER UPDATE OF search_name, phone_e164, email ON patients BEGIN"
    " INSERT INTO patients_fts (patients_fts, rowid, search_name, phone_e164, email)"
    " VALUES ('delete', old.search_key, old.search_name, old.phone_e164, old.email);"
    " INSERT INTO patients_fts (rowid, search_name, phone_e164, email)"
    " VALUES (new.search_key, new.search_name, new.phone_e164, new.email);"
    " END",
)

_TRIGGER_NAMES = ("patients_fts_insert", "patients_fts_delete", "patients_fts_update")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":  # 64 bits, as SQLite's INTEGER already is
        op.alter_column("patients", "search_key", type_=sa.BigInteger(), existing_type=sa.Integer())
        return
    for name in _TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(
        "CREATE VIRTUAL TABLE patients_words USING fts5(search_name, content='patients', content_rowid='search_key',"
        " tokenize='unicode61 remove_diacritics 2', prefix='1 2')"
    )
    for statement in _RENUMBER:  # the patients already there, in name order; both tables filled
        op.execute(statement)
    for trigger in _TRIGGERS:
        op.execute(trigger)


def downgrade() -> None:
    # The keys stay (unique, so 0008's trigram table may keep them); the word index goes.
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("patients", "search_key", type_=sa.Integer(), existing_type=sa.BigInteger())
        return
    for name in _TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE patients_words")
    for trigger in _TRIGGERS_0008:
        op.execute(trigger)
    op.execute("INSERT INTO patients_fts (patients_fts) VALUES ('rebuild')")
