"""Experiment grids: students x distillation methods x seeds.

* ``config``: grid files (by path or name) and their checks;
* ``runner``: every run once, resumable, small results archived to be
  committed (``run_once`` is the skip-if-done rule the demo shares);
* ``stats``: paired per-seed differences and their intervals;
* ``summary``: tables and plots of a grid's results.

Importing it has no side effects (no matplotlib backend switched).

Authors
 * speechbrain-kd contributors 2026
"""

from speechbrain_kd.grid.config import find_grid_file, load_grid
from speechbrain_kd.grid.runner import run_grid, run_once
from speechbrain_kd.grid.summary import write_summary

__all__ = [
    "find_grid_file",
    "load_grid",
    "run_grid",
    "run_once",
    "write_summary",
]
