"""frontdesk: a keyboard-first terminal app for a clinic's front desk."""

__version__ = "0.1.0"
