#!/usr/bin/env bash
# The README's picture of a printed day sheet: the sample clinic's Monday at Central
# (demo clock 2025-01-20 08:00 UTC), page 1 rendered to docs/screens/day-sheet.png.
# The page is rendered by pypdfium2, the `docs` extra (pip install -e '.[docs]'); frontdesk
# itself needs no PDF renderer.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if ! $python -c "import pypdfium2" 2>/dev/null; then
  echo "pypdfium2 is not installed (pip install -e '.[docs]'): docs/screens/day-sheet.png left as it is" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
$python -m frontdesk demo --no-ui --db "$work/demo.db" --now 2025-01-20T08:00:00Z >/dev/null
$python -m frontdesk day-sheet --db "$work/demo.db" --now 2025-01-20T08:00:00Z \
  --date 2025-01-20 --location loc_central --paper a4 -o "$work/day-sheet.pdf" >/dev/null
$python - "$work/day-sheet.pdf" docs/screens/day-sheet.png <<'PY'
import sys

import pypdfium2

page = pypdfium2.PdfDocument(sys.argv[1])[0]
page.render(scale=80 / 72).to_pil().save(sys.argv[2])  # 80 dpi: readable, small
PY
echo "docs/screens/day-sheet.png"
