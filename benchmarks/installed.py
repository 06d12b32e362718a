"""Shared by the benchmarks: measure frontdesk as an installed program."""

from __future__ import annotations

import compileall
from pathlib import Path


def compile_like_an_install() -> None:
    """pip byte-compiles a package it installs. A source checkout run with
    PYTHONDONTWRITEBYTECODE=1 (as on some machines) would instead recompile every frontdesk
    module in every process, and a start-up benchmark would measure the compiler."""
    import frontdesk

    compileall.compile_dir(Path(frontdesk.__file__).parent, quiet=1)
