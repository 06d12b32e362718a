"""Import hygiene: the core never imports the UI, and JSON commands never load Textual."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_layer_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is part of the test extras"
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_json_commands_do_not_import_textual(tmp_path):
    code = (
        "import sys\n"
        "from frontdesk.cli.main import main\n"
        f"main(['patients', 'search', '', '--db', {str(tmp_path / 'x.db')!r}])\n"
        f"main(['appointments', 'list', '--db', {str(tmp_path / 'x.db')!r}])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'frontdesk'))\n"
        "print('TEXTUAL' if any(m.startswith('textual') for m in loaded) else 'CLEAN')\n"
        "print(' '.join(m for m in loaded if m.startswith('frontdesk.tui')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == ["CLEAN", ""]
