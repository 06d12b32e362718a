#!/usr/bin/env bash
# The README's picture of a printed day sheet: the sample clinic's Monday at Central
# (demo clock 2025-01-20 08:00 UTC), page 1 rendered to docs/screens/day-sheet.png.
# Rendering a PDF needs poppler's pdftoppm; without it this says so and changes nothing
# (no PDF renderer is a dependency of frontdesk).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pdftoppm >/dev/null; then
  echo "pdftoppm (poppler-utils) is not installed: docs/screens/day-sheet.png left as it is" >&2
  exit 1
fi
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
$python -m frontdesk demo --no-ui --db "$work/demo.db" --now 2025-01-20T08:00:00Z >/dev/null
$python -m frontdesk day-sheet --db "$work/demo.db" --now 2025-01-20T08:00:00Z \
  --date 2025-01-20 --location loc_central --paper a4 -o "$work/day-sheet.pdf" >/dev/null
pdftoppm -png -r 80 -f 1 -l 1 -singlefile "$work/day-sheet.pdf" docs/screens/day-sheet
echo "docs/screens/day-sheet.png"
