"""The wheel carries what an installed frontdesk needs: migrations, themes and the sample clinic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("frontdesk-*.whl")
    return found


def test_wheel_ships_themes_sample_data_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("themes", "sample_data"):
        shipped = [p for p in (ROOT / folder).rglob("*") if p.is_file() and p.name != ".keep"]
        assert shipped, f"{folder}/ is empty"
        for path in shipped:
            assert f"frontdesk/{folder}/{path.relative_to(ROOT / folder).as_posix()}" in names
    assert "frontdesk/store/migrations/env.py" in names
    assert any(n.startswith("frontdesk/store/migrations/versions/0001") for n in names)
    assert "frontdesk/cli/main.py" in names
    # The day sheet's font, so a PDF writes names like "Zoë Ødegård" on any machine.
    assert {"frontdesk/fonts/DejaVuSans.ttf", "frontdesk/fonts/DejaVuSans-Bold.ttf", "frontdesk/fonts/LICENSE"} <= names


def test_installed_wheel_builds_the_demo_from_another_folder(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-m", "frontdesk", "demo", "--no-ui", "--db", str(tmp_path / "demo.db"),
         "--now", "2026-03-04T10:00:00Z"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["data"]["loaded"]["appointments"] > 0
    probe = subprocess.run(
        [sys.executable, "-c", "import frontdesk; print(frontdesk.__file__)"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True,
    )
    assert probe.stdout.startswith(str(target))
