"""The clinic file (shared/spec/clinic-file.md), one module per job:

- `read`: TOML or JSON into plain data (`read_clinic_file`);
- `fields`: the keys each table may have, and `Row`, which reads a table field by field;
- `check`: every row checked against the file and the database, every problem with its
  place (`check_clinic_data`);
- `write`: a checked file written into a session, with what it added, changed, kept and
  removed (`load_into_session`).

Places count rows from 0, as in JSON paths: `schedules[0]` is the first schedule.
Moving the sample's dates for the demo is the demo's job: services/demo.py.
"""

from frontdesk.store.clinic_file.check import check_clinic_data
from frontdesk.store.clinic_file.fields import DAYS
from frontdesk.store.clinic_file.read import read_clinic_file
from frontdesk.store.clinic_file.write import (
    LoadResult,
    check_file,
    load_into_session,
    stamp_loaded,
)

__all__ = ["DAYS", "LoadResult", "check_clinic_data", "check_file", "load_into_session", "read_clinic_file", "stamp_loaded"]
