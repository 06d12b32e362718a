"""Appointment statuses. A module of its own, importing nothing, because the command line
needs the list before anything else is loaded."""

STATUSES = ("pending_approval", "pending", "confirmed", "scheduled", "cancelled", "completed", "no_show")

# Appointment statuses that take time; cancelled, completed and no_show do not.
ACTIVE_APPOINTMENT_STATUSES = ("pending_approval", "pending", "confirmed", "scheduled")

# A hold's states; `expired` is read from the clock, never written.
HOLD_STATUSES = ("active", "confirmed", "released", "expired")
