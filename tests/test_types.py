"""The type checker runs clean over src/ (pyproject.toml's [tool.mypy] says how strictly)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_errors(pytestconfig, tmp_path):
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent))
    assert mypy, "mypy is part of the test extras"
    # Kept with pytest's own cache (per checkout), so a second run checks only what changed.
    cache = pytestconfig.cache.mkdir("mypy") if getattr(pytestconfig, "cache", None) else tmp_path
    result = subprocess.run(
        [mypy, "--cache-dir", str(cache)],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
