"""`ganzoo bench NAME`: training speed through the real engine, against the machine's matmul peak."""

from __future__ import annotations

from typing import Any

import click


def _mib(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:,.0f} MiB"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms" if seconds < 10 else f"{seconds:,.2f} s"


@click.command("bench")
@click.argument("name")
@click.option("--steps", type=click.IntRange(min=1), default=10, show_default=True,
              help="Timed training steps (after the warm-up).")
@click.option("--warmup", type=click.IntRange(min=1), default=2, show_default=True,
              help="Untimed steps first; the first one also counts the FLOPs of a step.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Images per step [default: the model's].")
@click.option("--image-size", type=click.IntRange(min=1), default=None,
              help="The model's image_size option [default: the model's].")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default=None,
              help="Arithmetic [default: auto, as for training]; the matmul peak is measured in the type used.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default=None,
              help="Where to train [default: auto].")
@click.option("--data", "data", default=None, metavar="REF", help="Training data [default: the model's built-in data].")
@click.option("--channels-last/--no-channels-last", "channels_last", default=None,
              help="Channels-last memory format [default: the training default].")
@click.option("--compile/--no-compile", "compile_", default=None,
              help="Compile the networks with torch.compile [default: the model's training default].")
@click.option("--set", "set_items", multiple=True, metavar="KEY=VALUE",
              help="Any model or training option, as for 'ganzoo train' (repeatable).")
@click.option("--peak-size", type=click.IntRange(min=16), default=None,
              help="Side of the matmul that measures the peak [default: scanned until the rate stops growing].")
@click.option("--no-peak", "no_peak", is_flag=True, help="Skip the matmul peak measurement.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def bench_cmd(name: str, steps: int, warmup: int, batch_size: int | None, image_size: int | None,
              precision: str | None, device: str | None, data: str | None, channels_last: bool | None,
              compile_: bool | None, set_items: tuple[str, ...], peak_size: int | None, no_peak: bool,
              as_json: bool) -> None:
    """Time NAME's training step through the real engine (Trainer, data stream, train_step).

    Reports median and p90 step time, images/s, the FLOPs of a step (torch.utils.flop_counter) and
    the rate they are computed at, as a fraction of the matmul peak measured in the same run, the
    share of step time spent waiting for data, and peak memory (RSS; CUDA: max allocated).

    \b
      ganzoo bench dcgan --image-size 64 --set channels=3 --batch-size 64
      ganzoo bench cyclegan --image-size 128 --batch-size 1 --json
    """
    preflight(name, batch_size=batch_size, image_size=image_size, precision=precision, device=device, data=data,
              channels_last=channels_last, compile_=compile_, set_items=set_items)
    from ganzoo.bench.model_bench import bench_model

    result = bench_model(name, steps=steps, warmup=warmup, batch_size=batch_size, image_size=image_size,
                         precision=precision, device=device, data=data, channels_last=channels_last,
                         compile=compile_, set_items=set_items, peak=not no_peak, peak_size=peak_size)
    if as_json:
        from ganzoo.cli._output import print_json

        print_json(result.to_json())
        return
    _print_table(result)


def preflight(name: str, *, batch_size: int | None, image_size: int | None, precision: str | None,
              device: str | None, data: str | None, channels_last: bool | None, compile_: bool | None,
              set_items: tuple[str, ...]) -> None:
    """Check the model name and every option as `ganzoo train` would, before torch is imported."""
    from ganzoo.errors import ConfigError
    from ganzoo.registry import get_registry
    from ganzoo.run_config import resolve

    registry = get_registry()
    spec = registry.resolve_model(name).spec
    entry = registry.catalogue.models.get(spec.name)
    train = {k: v for k, v in (("batch_size", batch_size), ("precision", precision), ("device", device),
                               ("data", data), ("channels_last", channels_last), ("compile", compile_))
             if v is not None}
    run = resolve(spec, catalogue_defaults=entry.defaults if entry else None, set_items=set_items,
                  model_flags={"image_size": image_size} if image_size is not None else {}, train_flags=train)
    if image_size is not None and not hasattr(run.model, "image_size"):
        raise ConfigError(f"model {spec.name!r} has no image_size option; drop --image-size")


def _print_table(result: Any) -> None:
    from rich.table import Table

    from ganzoo.cli._output import stdout_console

    t = result.step_time
    table = Table(title=f"ganzoo bench {result.model}", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    size = f"{result.image_size} px, " if result.image_size else ""
    table.add_row("setting", f"{size}batch {result.batch_size}, {result.precision}, {result.device}, "
                             f"data {result.data}" + (", channels-last" if result.channels_last else "")
                  + (", compiled" if result.compile else ""))
    table.add_row("steps", f"{result.steps} timed after {result.warmup} warm-up")
    table.add_row("step time", f"median {_ms(t.median)}, p90 {_ms(t.p90)}")
    table.add_row("images/s", f"{result.images_per_s:,.1f}")
    if result.flops_per_step is not None:
        table.add_row("FLOPs per step", f"{result.flops_per_step / 1e9:,.2f} GFLOP")
        table.add_row("achieved", f"{result.gflops:,.1f} GFLOP/s")
    mm = result.matmul_peak
    if mm is not None:
        table.add_row(f"{mm.dtype} matmul peak", f"{mm.gflops:,.1f} GFLOP/s ({mm.size} x {mm.size}, {mm.threads} threads)")
    if result.peak_fraction is not None:
        table.add_row("fraction of peak", f"{result.peak_fraction:.1%}")
    table.add_row("data loading", f"{result.data_share:.2%} of step time (median wait {_ms(result.data_seconds.median)})")
    table.add_row("CPU time per step", _ms(result.cpu_seconds_per_step))
    table.add_row("peak memory", f"RSS {_mib(result.peak_rss_bytes)}"
                  + (f", device {_mib(result.device_peak_bytes)}" if result.device_peak_bytes is not None else ""))
    load = result.machine.get("load_average")
    table.add_row("machine", f"{result.machine.get('cpu')}, {result.machine.get('cores')} cores, "
                             f"torch {result.machine.get('torch')}"
                  + (f", load average {load[0]:.2f}" if load else ""))
    stdout_console().print(table)
