#!/usr/bin/env bash
# Copy the snapshot tests' pictures into docs/screens (the README's pictures of each screen).
# Run after `pytest tests/test_tui_snapshots.py --snapshot-update`.
set -euo pipefail
cd "$(dirname "$0")/.."
from=tests/__snapshots__/test_tui_snapshots
while read -r snapshot picture; do
  cp "$from/$snapshot.svg" "docs/screens/$picture.svg"
done <<'MAP'
test_flow_board[80x24] appointment-list
test_flow_board[120x40] appointment-list-120x40
test_flow_board_no_color appointment-list-no-color
test_type_choice[80x24] appointment-type
test_appointment[80x24] appointment
test_group_roster[80x24] group-roster
test_cancel_dialog[80x24] cancel-dialog
test_edit_dialog[80x24] edit-dialog
test_date_dialog[80x24] go-to-date
test_help[80x24] help
test_patient_details_expired[80x24] hold-expired
test_leave_question[80x24] leave-and-release
test_no_clinic[80x24] no-clinic
test_patient_details[80x24] patient-details
test_repeat_dialog[80x24] repeat-dialog
test_slot_picker[120x40] slot-picker-120x40
test_slot_picker[80x24] slot-picker
test_other_themes[frontdesk-high-contrast] theme-high-contrast
test_other_themes[frontdesk-light] theme-light
MAP
