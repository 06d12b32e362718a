"""Pure booking rules: no I/O, no SQLAlchemy, no Textual, no clock (time comes in as a value)."""
