"""`ganzoo report`: one picture (PNG, or HTML with a table) of a run folder. Torch-free.

    load_run(path) -> RunData                      read config, metrics, health, events and samples
    write_report(run, out, *, max_samples, dpi) -> ReportResult

matplotlib (the `report` extra) is imported only when a figure is drawn.
"""

from __future__ import annotations

from ganzoo.report.rundata import RunData, load_run
from ganzoo.report.write import ReportResult, write_report

__all__ = ["ReportResult", "RunData", "load_run", "write_report"]
