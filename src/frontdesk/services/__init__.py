"""The operations people perform. Each is one transaction and returns plain objects.

The command line and the terminal UI call only this package.
"""
