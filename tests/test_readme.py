"""The README's shell examples run as written, on a fresh database, and do what they say."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
BLOCKS = re.findall(r"^```sh\n(.*?)^```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S | re.M)
# Setting up a machine (the README's first lines, which CI runs itself) and pointing at a
# PostgreSQL server of one's own are not run here.
NOT_RUN = ("pip install",)


def run_block(block: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # frontdesk and python3
        "XDG_DATA_HOME": str(tmp_path / "data"),  # a fresh default database
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "FRONTDESK_OPERATOR": "readme",
    }
    for name in ("FRONTDESK_DB", "FRONTDESK_NOW"):
        env.pop(name, None)
    return subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_readme_has_examples_to_run():
    assert [b for b in BLOCKS if not any(n in b for n in NOT_RUN)]


@pytest.mark.parametrize("block", [b for b in BLOCKS if not any(n in b for n in NOT_RUN)],
                         ids=lambda b: b.split()[1])
def test_a_readme_example_runs_as_written(block, tmp_path):
    done = run_block(block, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    documents = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert documents and all(d.get("error") is None for d in documents)
    if "holds confirm" in block:
        booked = documents[-1]["data"]
        assert booked["status"] == "confirmed" and booked["attendee_name"] == "Jo Bloggs"
        assert booked["start_time"] == "2025-01-20T09:00:00Z"
