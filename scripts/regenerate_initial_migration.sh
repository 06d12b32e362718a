#!/bin/bash
# Regenerate the initial migration from the models (before the first release only).
set -e
cd /work/main
rm -f src/frontdesk/store/migrations/versions/0001_initial.py
rm -f /tmp/gen.db
.venv/bin/python - <<'PY'
from alembic import command
from frontdesk.store.db import Database
from frontdesk.store.migrate import alembic_config
db = Database("/tmp/gen.db")
command.revision(alembic_config(db.engine), message="initial schema", autogenerate=True, rev_id="0001")
PY
mv src/frontdesk/store/migrations/versions/0001_*.py src/frontdesk/store/migrations/versions/0001_initial.py 2>/dev/null || true
rm -f /tmp/gen.db*
