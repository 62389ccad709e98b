"""The CycleGAN/pix2pix reference networks' computation, written independently for tests (imports torch).

Tests of `ganzoo.nn`'s translation networks and of the plugins' converters build state dicts in the
reference implementation's key layout (junyanz/pytorch-CycleGAN-and-pix2pix) from the published
architecture (layer positions and shapes), load them into ganzoo's networks without renaming, and
compare the output with these forward passes spelled out with `torch.nn.functional` calls in the
reference's layer order:

    sd = resnet_state(3, 8, 9, seed=0)             # ResnetGenerator keys, instance norm
    y = resnet_forward(sd, x, 9)
    sd = unet_state(3, 3, 5, 8, norm="batch")      # UnetGenerator keys (5 levels), batch norm
    y = unet_forward(sd, x, 5, norm="batch", batch_statistics=True)   # as the reference's test.py runs it
    y = patch_forward(sd, x, 3, norm="instance")   # NLayerDiscriminator
    rates = linear_rates(100, 100)                 # the learning rate of each epoch of the reference's loop
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F

EPS = 1e-5


def _tensor(g: torch.Generator, *shape: int, scale: float = 0.1) -> torch.Tensor:
    return torch.randn(*shape, generator=g) * scale


def resnet_state(channels: int, ngf: int, n_blocks: int, *, seed: int = 0,
                 stale_stats: bool = False) -> dict[str, torch.Tensor]:
    """Random weights under the reference ResnetGenerator's keys (instance norm, no dropout).

    `stale_stats` adds the running statistics PyTorch 0.4-era files carry for instance-norm layers.
    """
    g = torch.Generator().manual_seed(seed)
    sd: dict[str, torch.Tensor] = {"model.1.weight": _tensor(g, ngf, channels, 7, 7), "model.1.bias": _tensor(g, ngf)}
    sd.update({"model.4.weight": _tensor(g, 2 * ngf, ngf, 3, 3), "model.4.bias": _tensor(g, 2 * ngf),
               "model.7.weight": _tensor(g, 4 * ngf, 2 * ngf, 3, 3), "model.7.bias": _tensor(g, 4 * ngf)})
    for b in range(n_blocks):
        for pos in (1, 5):
            sd[f"model.{10 + b}.conv_block.{pos}.weight"] = _tensor(g, 4 * ngf, 4 * ngf, 3, 3)
            sd[f"model.{10 + b}.conv_block.{pos}.bias"] = _tensor(g, 4 * ngf)
    up = 10 + n_blocks
    # Transposed convolutions store (in, out, kH, kW).
    sd[f"model.{up}.weight"] = _tensor(g, 4 * ngf, 2 * ngf, 3, 3)
    sd[f"model.{up}.bias"] = _tensor(g, 2 * ngf)
    sd[f"model.{up + 3}.weight"] = _tensor(g, 2 * ngf, ngf, 3, 3)
    sd[f"model.{up + 3}.bias"] = _tensor(g, ngf)
    sd[f"model.{up + 7}.weight"] = _tensor(g, channels, ngf, 7, 7)
    sd[f"model.{up + 7}.bias"] = _tensor(g, channels)
    if stale_stats:
        widths = {2: ngf, 5: 2 * ngf, 8: 4 * ngf, up + 1: 2 * ngf, up + 4: ngf}
        for pos, width in widths.items():
            sd[f"model.{pos}.running_mean"] = torch.zeros(width)
            sd[f"model.{pos}.running_var"] = torch.ones(width)
        for b in range(n_blocks):
            for pos in (2, 6):
                sd[f"model.{10 + b}.conv_block.{pos}.running_mean"] = torch.zeros(4 * ngf)
                sd[f"model.{10 + b}.conv_block.{pos}.running_var"] = torch.ones(4 * ngf)
    return sd


def resnet_forward(sd: dict[str, torch.Tensor], x: torch.Tensor, n_blocks: int) -> torch.Tensor:
    """The reference ResnetGenerator's computation (instance norm, no dropout)."""
    def inorm(h: torch.Tensor) -> torch.Tensor:
        return F.instance_norm(h, eps=EPS)

    h = F.pad(x, (3, 3, 3, 3), mode="reflect")
    h = F.relu(inorm(F.conv2d(h, sd["model.1.weight"], sd["model.1.bias"])))
    for pos in (4, 7):
        h = F.relu(inorm(F.conv2d(h, sd[f"model.{pos}.weight"], sd[f"model.{pos}.bias"], stride=2, padding=1)))
    for b in range(n_blocks):
        p = f"model.{10 + b}.conv_block"
        r = F.pad(h, (1, 1, 1, 1), mode="reflect")
        r = F.relu(inorm(F.conv2d(r, sd[f"{p}.1.weight"], sd[f"{p}.1.bias"])))
        r = F.pad(r, (1, 1, 1, 1), mode="reflect")
        r = inorm(F.conv2d(r, sd[f"{p}.5.weight"], sd[f"{p}.5.bias"]))
        h = h + r
    up = 10 + n_blocks
    for pos in (up, up + 3):
        h = F.conv_transpose2d(h, sd[f"model.{pos}.weight"], sd[f"model.{pos}.bias"], stride=2, padding=1,
                               output_padding=1)
        h = F.relu(inorm(h))
    h = F.pad(h, (3, 3, 3, 3), mode="reflect")
    return torch.tanh(F.conv2d(h, sd[f"model.{up + 7}.weight"], sd[f"model.{up + 7}.bias"]))


def _unet_widths(levels: int, ngf: int) -> list[tuple[int, int]]:
    """(outer, inner) widths of the levels from the outermost inwards (the outermost's outer is the output)."""
    widths = [(ngf, ngf * 2), (ngf * 2, ngf * 4), (ngf * 4, ngf * 8)]
    widths += [(ngf * 8, ngf * 8)] * (levels - 4)
    return [(0, ngf), *widths]


def _add_norm(sd: dict[str, torch.Tensor], g: torch.Generator, key: str, width: int, norm: str) -> None:
    if norm == "batch":
        sd[f"{key}.weight"] = 1 + _tensor(g, width)
        sd[f"{key}.bias"] = _tensor(g, width)
        sd[f"{key}.running_mean"] = _tensor(g, width)
        sd[f"{key}.running_var"] = 1 + _tensor(g, width).abs()
        sd[f"{key}.num_batches_tracked"] = torch.tensor(7, dtype=torch.long)


def unet_state(in_channels: int, out_channels: int, levels: int, ngf: int, *, norm: str = "batch",
               seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights (and batch-norm statistics) under the reference UnetGenerator's keys."""
    g = torch.Generator().manual_seed(seed)
    bias = norm == "instance"
    sd: dict[str, torch.Tensor] = {}
    widths = _unet_widths(levels, ngf)
    prefix = "model.model"
    # outermost: 0 down conv, 1 inner levels, 3 transposed conv (always with bias)
    sd[f"{prefix}.0.weight"] = _tensor(g, ngf, in_channels, 4, 4)
    if bias:
        sd[f"{prefix}.0.bias"] = _tensor(g, ngf)
    sd[f"{prefix}.3.weight"] = _tensor(g, ngf * 2, out_channels, 4, 4)
    sd[f"{prefix}.3.bias"] = _tensor(g, out_channels)
    prefix = f"{prefix}.1.model"
    for level in range(1, levels):
        outer, inner = widths[level]
        innermost = level == levels - 1
        sd[f"{prefix}.1.weight"] = _tensor(g, inner, outer, 4, 4)
        if bias:
            sd[f"{prefix}.1.bias"] = _tensor(g, inner)
        if innermost:  # 0 LeakyReLU, 1 down, 2 ReLU, 3 up, 4 norm
            sd[f"{prefix}.3.weight"] = _tensor(g, inner, outer, 4, 4)
            if bias:
                sd[f"{prefix}.3.bias"] = _tensor(g, outer)
            _add_norm(sd, g, f"{prefix}.4", outer, norm)
        else:  # 0 LeakyReLU, 1 down, 2 norm, 3 inner levels, 4 ReLU, 5 up, 6 norm, [7 dropout]
            _add_norm(sd, g, f"{prefix}.2", inner, norm)
            sd[f"{prefix}.5.weight"] = _tensor(g, inner * 2, outer, 4, 4)
            if bias:
                sd[f"{prefix}.5.bias"] = _tensor(g, outer)
            _add_norm(sd, g, f"{prefix}.6", outer, norm)
            prefix = f"{prefix}.3.model"
    return sd


def _norm(sd: dict[str, torch.Tensor], key: str, h: torch.Tensor, norm: str, batch_statistics: bool) -> torch.Tensor:
    if norm == "instance":
        return F.instance_norm(h, eps=EPS)
    if norm == "batch":
        if batch_statistics:  # training mode: the batch's own mean and biased variance
            mean = h.mean(dim=(0, 2, 3), keepdim=True)
            var = h.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
        else:
            mean = sd[f"{key}.running_mean"].view(1, -1, 1, 1)
            var = sd[f"{key}.running_var"].view(1, -1, 1, 1)
        scale = sd[f"{key}.weight"].view(1, -1, 1, 1)
        shift = sd[f"{key}.bias"].view(1, -1, 1, 1)
        return (h - mean) / torch.sqrt(var + EPS) * scale + shift
    return h


def unet_forward(sd: dict[str, torch.Tensor], x: torch.Tensor, levels: int, *, norm: str = "batch",
                 batch_statistics: bool = False) -> torch.Tensor:
    """The reference UnetGenerator's computation without dropout.

    `batch_statistics=True` normalises batch-norm layers with the statistics of `x` (training mode,
    which is how the reference's test script runs networks unless `--eval`); False uses the stored
    running statistics (evaluation mode).
    """
    def conv(key: str, h: torch.Tensor) -> torch.Tensor:
        return F.conv2d(h, sd[f"{key}.weight"], sd.get(f"{key}.bias"), stride=2, padding=1)

    def up(key: str, h: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(h, sd[f"{key}.weight"], sd.get(f"{key}.bias"), stride=2, padding=1)

    def level(prefix: str, h: torch.Tensor, depth: int) -> torch.Tensor:
        d = conv(f"{prefix}.1", F.leaky_relu(h, 0.2))
        if depth == levels - 1:
            u = _norm(sd, f"{prefix}.4", up(f"{prefix}.3", F.relu(d)), norm, batch_statistics)
        else:
            d = _norm(sd, f"{prefix}.2", d, norm, batch_statistics)
            inner = level(f"{prefix}.3.model", d, depth + 1)
            u = _norm(sd, f"{prefix}.6", up(f"{prefix}.5", F.relu(inner)), norm, batch_statistics)
        return torch.cat([h, u], 1)

    h = conv("model.model.0", x)
    h = level("model.model.1.model", h, 1)
    return torch.tanh(up("model.model.3", F.relu(h)))


def patch_state(in_channels: int, ndf: int, n_layers: int, *, norm: str = "instance",
                seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights under the reference NLayerDiscriminator's keys."""
    g = torch.Generator().manual_seed(seed)
    sd = {"model.0.weight": _tensor(g, ndf, in_channels, 4, 4), "model.0.bias": _tensor(g, ndf)}
    width, pos = ndf, 2
    for n in range(1, n_layers + 1):
        out = ndf * min(2 ** n, 8)
        sd[f"model.{pos}.weight"] = _tensor(g, out, width, 4, 4)
        if norm == "instance":
            sd[f"model.{pos}.bias"] = _tensor(g, out)
        _add_norm(sd, g, f"model.{pos + 1}", out, norm)
        width, pos = out, pos + 3
    sd[f"model.{pos}.weight"] = _tensor(g, 1, width, 4, 4)
    sd[f"model.{pos}.bias"] = _tensor(g, 1)
    return sd


def patch_forward(sd: dict[str, torch.Tensor], x: torch.Tensor, n_layers: int, *, norm: str = "instance",
                  batch_statistics: bool = True) -> torch.Tensor:
    """The reference NLayerDiscriminator's computation (raw scores, no sigmoid)."""
    h = F.leaky_relu(F.conv2d(x, sd["model.0.weight"], sd["model.0.bias"], stride=2, padding=1), 0.2)
    pos = 2
    for n in range(1, n_layers + 1):
        stride = 2 if n < n_layers else 1
        h = F.conv2d(h, sd[f"model.{pos}.weight"], sd.get(f"model.{pos}.bias"), stride=stride, padding=1)
        h = F.leaky_relu(_norm(sd, f"model.{pos + 1}", h, norm, batch_statistics), 0.2)
        pos += 3
    return F.conv2d(h, sd[f"model.{pos}.weight"], sd[f"model.{pos}.bias"], stride=1, padding=1)


def linear_rates(n_epochs: int, n_epochs_decay: int, lr: float = 2e-4) -> list[float]:
    """The learning rate of each epoch of the reference's training loop, simulated with its own rule.

    The reference's "linear" policy is a LambdaLR with the rule
    1 - max(0, epoch + epoch_count - n_epochs) / (n_epochs_decay + 1), epoch_count 1 for a fresh run;
    its train.py loops over epochs 1 .. n_epochs + n_epochs_decay and steps the scheduler once at the
    start of each epoch, before the epoch's first update.
    """
    epoch_count = 1
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([param], lr=lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda epoch: 1.0 - max(0, epoch + epoch_count - n_epochs) / float(n_epochs_decay + 1))
    rates = []
    with warnings.catch_warnings():  # the reference steps the scheduler before the optimizer
        warnings.simplefilter("ignore")
        for _ in range(epoch_count, n_epochs + n_epochs_decay + 1):
            scheduler.step()
            rates.append(optimizer.param_groups[0]["lr"])
    return rates
