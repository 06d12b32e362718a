"""Keyset paging: a page read from an index in order, starting after the last row's key.

OFFSET walks every row it skips; a cursor (the opaque `next_cursor` a page answers with)
names the last row's sort key, so the next page seeks straight to it. Both are honoured:
an offset request reads only the sort keys from the index, then the page's rows.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, literal, select, tuple_, union_all
from sqlalchemy.orm import Session

from frontdesk.domain.errors import validation
from frontdesk.domain.timeutil import iso


def encode_cursor(key: Sequence[Any]) -> str:
    plain = [iso(v) if isinstance(v, datetime) else v for v in key]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: Sequence[Callable[[str], Any]]) -> tuple:
    """The key a cursor names; VALIDATION_ERROR (field `cursor`) when it is not one of ours."""
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(plain, list) or len(plain) != len(kinds) or not all(isinstance(v, str) for v in plain):
            raise ValueError
        return tuple(kind(v) for kind, v in zip(kinds, plain, strict=True))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise validation("Not a cursor this list gave (pass next_cursor back as it came)", field="cursor") from None


def read_keys(
    session: Session,
    branches: Sequence[Select],
    order: Sequence[Any],  # the sort columns (mapped attributes or columns)
    limit: int,
    offset: int,
    after: tuple | None,
) -> tuple[list[tuple], bool]:
    """The sort keys of one page (`limit` rows after `after`, or at `offset` without it) and
    whether more follow. Each branch selects the `order` columns under its own conditions;
    branches are disjoint, so several (an OR split along the indexes) are merged: each reads
    in its index's order only as far as the page needs."""
    skip = 0 if after is not None else offset
    if after is not None:
        # Typed binds: the key's instant is stored as the column stores it (naive UTC).
        seek = tuple_(*order) > tuple_(*(literal(v, c.type) for v, c in zip(after, order, strict=True)))
        branches = [b.where(seek) for b in branches]
    branches = [b.order_by(*order) for b in branches]
    wanted = skip + limit + 1
    if len(branches) > 1 and skip == 0:
        bounded = _bounded(session, branches, order, wanted)
        if bounded is not None:
            rows = session.execute(_merged(bounded, wanted)).all()
            # Fewer: rows left the first branch between the two reads (another desk's
            # change, on PostgreSQL): read the page again without the bound.
            if len(rows) == wanted:
                return [tuple(r) for r in rows[:limit]], True
    query = branches[0] if len(branches) == 1 else _merged(branches, wanted)
    rows = session.execute(query.limit(limit + 1).offset(skip)).all()
    return [tuple(r) for r in rows[:limit]], len(rows) > limit


def _merged(branches: Sequence[Select], wanted: int) -> Select:
    """Disjoint branches, each read in order as far as `wanted` rows, merged in order."""
    parts = [b.limit(wanted).subquery() for b in branches]
    merged = union_all(*(select(*p.c) for p in parts)).subquery()
    return select(*merged.c).order_by(*merged.c).limit(wanted)


def _bounded(session: Session, branches: list[Select], order: Sequence[Any], wanted: int) -> list[Select] | None:
    """The branches bounded by where the first ends when it alone fills the page (None when
    it does not): the page cannot reach past that key, so a sparse branch (the staff time a
    clinician is on, among the clinic's) stops there instead of walking on to fill a page of
    its own. The first is bounded too, so the merged read holds only rows up to the bound."""
    first = session.execute(branches[0].limit(wanted)).all()
    if len(first) < wanted:
        return None
    bound = tuple_(*order) <= tuple_(*(literal(v, c.type) for v, c in zip(first[-1], order, strict=True)))
    return [b.where(bound) for b in branches]
