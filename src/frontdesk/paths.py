"""Where frontdesk finds the folders it ships (themes/, sample_data/) and keeps user settings."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).parent


def packaged_dir(name: str) -> Path:
    """`themes` or `sample_data`: inside the installed wheel, else at the top of a source checkout."""
    inside = _PACKAGE / name
    if inside.is_dir():
        return inside
    return _PACKAGE.parent.parent / name


def config_dir() -> Path:
    from platformdirs import user_config_path

    return user_config_path("frontdesk", appauthor=False)


def data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path("frontdesk", appauthor=False)


def documents_dir() -> Path:
    """Where files made for people go (the day sheet, screenshots): the user's documents
    folder (XDG_DOCUMENTS_DIR on Linux, else ~/Documents). It may not exist yet."""
    from platformdirs import user_documents_path

    return user_documents_path()
