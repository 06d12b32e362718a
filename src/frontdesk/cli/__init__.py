"""The `frontdesk` command: the UI with no subcommand, JSON subcommands for scripts."""
