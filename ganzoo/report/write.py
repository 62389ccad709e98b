"""Write a run's report: a PNG, or an HTML page embedding the PNG with tables of the numbers behind it."""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.atomic import write_bytes_atomic
from ganzoo.errors import ConfigError
from ganzoo.report.rundata import RunData

FORMATS = (".png", ".html", ".htm")


@dataclass
class ReportResult:
    """What `write_report` wrote, and what the picture shows."""

    out: Path
    panels: list[str]
    status: str
    last_step: int
    warnings: int
    samples: int
    unreadable_lines: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"out": str(self.out), "panels": self.panels, "status": self.status, "last_step": self.last_step,
                "warnings": self.warnings, "samples": self.samples, "unreadable_lines": self.unreadable_lines}


def write_report(run: RunData, out: str | Path | None = None, *, max_samples: int = 6, dpi: int = 100,
                 compare: Sequence[RunData] = ()) -> ReportResult:
    """Draw `run` (with the evaluations and ADA curves of the `compare` runs) and write it to `out`
    (`.png` or `.html`; default RUN/report.png), atomically."""
    from ganzoo.report.figure import draw, panel_titles, pick_samples

    path = Path(out) if out is not None else run.root / "report.png"
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"--out {path}: the report is written as .png or .html")
    fig = draw(run, max_samples=max_samples, dpi=dpi, compare=compare)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    png = buffer.getvalue()
    if suffix == ".png":
        write_bytes_atomic(path, png)
    else:
        write_bytes_atomic(path, html_page(run, png).encode("utf-8"))
    return ReportResult(path, panel_titles(fig), run.status, run.last_step, len(run.warnings),
                        len(pick_samples(run.samples, max_samples)), run.unreadable_lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    return str(value)


def _table(rows: list[tuple[str, Any]], head: tuple[str, str] | None = None) -> str:
    lines = ["<table>"]
    if head:
        lines.append(f"<tr><th>{html.escape(head[0])}</th><th>{html.escape(head[1])}</th></tr>")
    for key, value in rows:
        lines.append(f"<tr><td>{html.escape(str(key))}</td><td>{html.escape(_fmt(value))}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines)


def html_page(run: RunData, png: bytes) -> str:
    """A self-contained page: the picture, the run's summary, latest values, warnings and training options."""
    image = base64.b64encode(png).decode("ascii")
    summary = [("model", run.name), ("data", run.train.get("data", "?")), ("status", run.status),
               ("last step", run.last_step), ("planned steps", run.planned_steps or "?"),
               ("checkpoint step", run.checkpoint_step if run.checkpoint_step is not None else "none"),
               ("warnings", len(run.warnings)), ("sample grids", len(run.samples))]
    if run.unreadable_lines:
        summary.append(("unreadable log lines (skipped)", run.unreadable_lines))
    latest = [(k, v) for k, v in (run.metrics[-1] if run.metrics else {}).items() if k != "step"]
    health = [(k, v) for k, v in (run.health[-1] if run.health else {}).items() if k != "step"]
    events = [e for e in run.events if e.get("type") in ("warning", "stop")]
    event_rows = "\n".join(
        f"<tr><td>{e['step']}</td><td>{html.escape(str(e.get('kind', '')))}</td>"
        f"<td>{html.escape(str(e.get('message', '')))}</td></tr>" for e in events)
    warnings = (f"<table><tr><th>step</th><th>kind</th><th>message</th></tr>\n{event_rows}</table>"
                if events else "<p>No warnings.</p>")
    evals = [(f"step {r['step']}", json.dumps(r.get("eval"))[:300]) for r in run.evals]
    title = html.escape(f"ganzoo report: {run.name} ({run.root})")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #222; }}
img {{ max-width: 100%; border: 1px solid #ddd; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }}
td, th {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }}
</style></head><body>
<h1>{title}</h1>
<img alt="report of {html.escape(run.name)}" src="data:image/png;base64,{image}">
<h2>Run</h2>
{_table(summary)}
<h2>Warnings</h2>
{warnings}
<h2>Latest training values</h2>
{_table(latest, ("value", "latest")) if latest else "<p>None logged yet.</p>"}
<h2>Latest diagnostics</h2>
{_table(health, ("diagnostic", "latest")) if health else "<p>No diagnostics recorded.</p>"}
<h2>Evaluations</h2>
{_table(evals) if evals else "<p>None.</p>"}
<h2>Training options</h2>
{_table(sorted(run.train.items()))}
</body></html>
"""
