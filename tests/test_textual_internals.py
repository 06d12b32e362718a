"""FitTable (tui/widgets.py) leans on DataTable internals for its speed, so pyproject.toml pins
Textual to the tested minor. Trying a newer Textual, this fails first and names what moved."""

from __future__ import annotations

import inspect

from textual.widgets import DataTable


def test_the_datatable_internals_fittable_relies_on_are_still_there():
    # FitTable overrides these and calls the originals.
    assert list(inspect.signature(DataTable._render_line).parameters) == ["self", "y", "x1", "x2", "base_style"]
    assert list(inspect.signature(DataTable._get_offsets).parameters) == ["self", "y"]
    assert callable(DataTable._clear_caches)
    # FitTable reads these from a table.
    table = DataTable()
    missing = [
        name
        for name in ("_row_locations", "_update_count", "_show_hover_cursor", "_pseudo_class_state",
                     "_require_update_dimensions")
        if not hasattr(table, name)
    ]
    assert missing == []
