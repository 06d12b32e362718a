"""SQLite: each patient's `search_key`, its place in name order (search_name, id) with gaps
(migration 0009). It is the rowid of both search indexes (patients_fts, patients_words), so
they give their matches in the list's order and a page stops once full. A new or renamed
patient takes the midpoint of its neighbours' keys (the Patient model's insert and update
events); the rare patient with no room left spreads the few keys around it.

Writes that bypass the models: migration 0009's insert trigger places a row inserted without
a key the same way, but cannot spread keys (it refuses the insert, naming
`renumber_search_keys`); an UPDATE of search_name written in SQL (say, a migration that folds
names differently) keeps the old keys, so it must call `renumber_search_keys` after."""

from __future__ import annotations

from sqlalchemy import text

# search_key: 2**32 apart after a renumbering; every real key lies between -2**62 and 2**62.
SEARCH_KEY_GAP = 2**32
_KEY_LIMIT = 2**62
# Keys are moved in two steps, first "parked" at PARKED + 1, + 2, ... (below every real key,
# so no two rows ever share one and the update trigger leaves the moves alone), then set.
PARKED = -(2**63) + 1
_NEIGHBOUR = (
    "SELECT search_key FROM patients WHERE (search_name, id) {op} (:name, :id) AND id != :id"
    " ORDER BY search_name {way}, id {way} LIMIT 1"
)


def _key_between(low: int | None, high: int | None) -> int | None:
    """A key between two neighbours' keys (None: no neighbour that side); None when there is
    no room."""
    if low is None and high is None:
        return 0
    if low is None:  # the first: a gap below the next, or half the way to the end
        assert high is not None
        low = high - 2 * min(SEARCH_KEY_GAP, (high + _KEY_LIMIT) // 2)
    elif high is None:
        high = low + 2 * min(SEARCH_KEY_GAP, (_KEY_LIMIT - low) // 2)
    return low + (high - low) // 2 if high - low >= 2 else None


def place_search_key(connection, name: str, patient_id: str) -> int:
    """SQLite: the search_key for a patient of this search name, between its neighbours' in
    name order (two seeks of the (search_name, id) index). When they leave no room (after
    about 32 patients placed one after another between the same two), the keys nearby are
    spread out first."""
    for _ in range(2):
        params = {"name": name, "id": patient_id}
        low = connection.execute(text(_NEIGHBOUR.format(op="<", way="DESC")), params).first()
        high = connection.execute(text(_NEIGHBOUR.format(op=">", way="ASC")), params).first()
        if (low is not None and low[0] is None) or (high is not None and high[0] is None):
            renumber_search_keys(connection)  # a patient without a key: only before migration 0009
            continue
        key = _key_between(low and low[0], high and high[0])
        if key is not None:
            return key
        spread_search_keys(connection, low and low[0], high and high[0])
    raise RuntimeError("no search_key left after spreading them")  # cannot happen below 2**30 patients


_MIN_GAP = 2**24  # what spreading leaves between two keys at least
_KEY_AWAY = "SELECT search_key FROM patients WHERE search_key {op} :key ORDER BY search_key {way} LIMIT 1 OFFSET :skip"
_SPREAD = (
    # Out of both search indexes under the old keys ...
    "INSERT INTO patients_fts (patients_fts, rowid, search_name, phone_e164, email)"
    " SELECT 'delete', search_key, search_name, phone_e164, email FROM patients"
    " WHERE search_key > :low AND search_key < :high",
    "INSERT INTO patients_words (patients_words, rowid, search_name)"
    " SELECT 'delete', search_key, search_name FROM patients WHERE search_key > :low AND search_key < :high",
    # ... parked below every real key (the update trigger leaves those moves alone) ...
    f"UPDATE patients SET search_key = {PARKED} + r.n FROM"
    " (SELECT id, row_number() OVER (ORDER BY search_key) AS n FROM patients"
    "  WHERE search_key > :low AND search_key < :high) AS r WHERE patients.id = r.id",
    # ... set evenly apart, in the same order, and indexed again.
    f"UPDATE patients SET search_key = :low + (search_key - {PARKED}) * :step WHERE search_key < {-_KEY_LIMIT}",
    "INSERT INTO patients_fts (rowid, search_name, phone_e164, email)"
    " SELECT search_key, search_name, phone_e164, email FROM patients WHERE search_key > :low AND search_key < :high",
    "INSERT INTO patients_words (rowid, search_name)"
    " SELECT search_key, search_name FROM patients WHERE search_key > :low AND search_key < :high",
)


def spread_search_keys(connection, low: int | None, high: int | None) -> None:
    """SQLite: room made between two neighbouring keys (None: the end of the order) by
    spreading the keys around them evenly: the fewest patients nearby whose key range leaves
    at least _MIN_GAP between each two, found by doubling how many are taken on each side.
    The cost follows those few patients, not the clinic (a renumbering of 300,000 and a
    rebuild of both indexes take half a minute)."""
    take = 16
    while True:
        below = None if low is None else connection.execute(
            text(_KEY_AWAY.format(op="<=", way="DESC")), {"key": low, "skip": take}).scalar()
        above = None if high is None else connection.execute(
            text(_KEY_AWAY.format(op=">=", way="ASC")), {"key": high, "skip": take}).scalar()
        start = -_KEY_LIMIT if below is None else below
        end = _KEY_LIMIT if above is None else above
        inside = connection.execute(
            text("SELECT count(*) FROM patients WHERE search_key > :low AND search_key < :high"),
            {"low": start, "high": end}).scalar()
        if end - start >= (inside + 1) * _MIN_GAP or (below is None and above is None):
            break
        take *= 2
    params = {"low": start, "high": end, "step": (end - start) // (inside + 1)}
    for statement in _SPREAD:
        connection.execute(text(statement), params)


def renumber_search_keys(connection) -> None:
    """SQLite: every patient's search_key 2**32 apart in name order, and both search indexes
    rebuilt: after a bulk insert that gave no keys (or had the triggers off). Keys are first
    parked below -2**62 (no two rows ever share one, and the update trigger leaves them
    alone), then set."""
    connection.execute(text(
        f"UPDATE patients SET search_key = {PARKED} + r.n FROM"
        " (SELECT id, row_number() OVER (ORDER BY search_name, id) AS n FROM patients) AS r"
        " WHERE patients.id = r.id"))
    connection.execute(text(
        f"UPDATE patients SET search_key = (search_key - {PARKED}) * {SEARCH_KEY_GAP}"
        f" WHERE search_key < {-_KEY_LIMIT}"))
    connection.execute(text("INSERT INTO patients_fts (patients_fts) VALUES ('rebuild')"))
    connection.execute(text("INSERT INTO patients_words (patients_words) VALUES ('rebuild')"))
