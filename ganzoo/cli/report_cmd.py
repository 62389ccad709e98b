"""`ganzoo report RUN [--out report.png|report.html]`: one picture of a run."""

from __future__ import annotations

import click


@click.command("report")
@click.argument("run", type=click.Path())
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Where to write the report: a .png, or a .html page embedding it with tables "
                   "[default: RUN/report.png].")
@click.option("--samples", "max_samples", type=click.IntRange(min=1), default=6, show_default=True,
              help="Sample grids shown, spread over the run.")
@click.option("--dpi", type=click.IntRange(min=30, max=300), default=100, show_default=True,
              help="Resolution of the picture (the figure is 14 x 19 inches).")
@click.option("--compare", "compare", multiple=True, type=click.Path(),
              help="Another run folder whose periodic evaluations and ADA p are drawn beside RUN's; repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written (panels, status, warnings) as JSON.")
def report_cmd(run: str, out: str | None, max_samples: int, dpi: int, compare: tuple[str, ...], as_json: bool) -> None:
    """Draw one picture of a training run: losses, discriminator accuracy, sample diversity, gradient
    norms, learning rates, skipped updates, periodic evaluations, ADA's augmentation probability,
    warnings on the timeline, and sample grids over time.

    RUN is a run folder (or a file in it, such as its checkpoint). Works on finished, running and
    interrupted runs.

    \b
      ganzoo report runs/dcgan-20250101-120000
      ganzoo report runs/dcgan-20250101-120000 --out dcgan.html
      ganzoo report runs/sg2-ada --compare runs/sg2-none    # FD and p of both
    """
    from ganzoo.report import load_run, write_report

    others = [load_run(other) for other in compare]
    result = write_report(load_run(run), out, max_samples=max_samples, dpi=dpi, compare=others)
    if as_json:
        from ganzoo.cli._output import print_json

        print_json(result.to_json())
        return
    warnings = f"{result.warnings} warning{'s' if result.warnings != 1 else ''}"
    click.echo(f"Wrote {result.out} (step {result.last_step}, {result.status}, {warnings})", err=True)
