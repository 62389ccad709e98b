"""Train the `digits` feature extractor and write `ganzoo/assets/digits_extractor.safetensors`.

    python scripts/train_digits_extractor.py            # rebuild the shipped file
    python scripts/train_digits_extractor.py --check    # retrain in memory, compare with the shipped file

Training data: the *training* half (901 images) of scikit-learn's digits as fixed by
`ganzoo.data.digits_split`; the held-out half (896 images) is only used to measure accuracy.
Every batch goes through a random upsampling (8 to 64 pixels; nearest, bilinear or bicubic), a small
random affine jitter and 8-bit quantisation before the extractor's own resizer, so the network sees
digits the way `ganzoo eval` will show them, whatever resolution a model generates.

Deterministic: one CPU thread, fixed seeds, deterministic algorithms; rerunning gives the same tensors
and metadata (`--check` compares them; the byte order of the safetensors header may differ).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganzoo.data.digits_split import digits_arrays, split_indices
from ganzoo.metrics.extractors.digits import ARCH_VERSION, DigitsNet, prepare, shipped_weights

SEED = 1797
EPOCHS = 60
BATCH = 64
LR = 2e-3
SIZES = (8, 12, 16, 24, 28, 32, 48, 64)
MODES = ("nearest", "bilinear", "bicubic")
EVAL_PATHS = tuple((s, m) for s in (8, 16, 28, 32, 64) for m in MODES)


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round [-1, 1] images to the 256 levels of an 8-bit picture."""
    return torch.round((x.clamp(-1, 1) + 1) * 127.5) / 127.5 - 1


def upsample(x01: torch.Tensor, size: int, mode: str) -> torch.Tensor:
    """8 x 8 images in [0, 1] -> size x size in [-1, 1], quantised."""
    kwargs = {} if mode == "nearest" else {"align_corners": False}
    up = F.interpolate(x01, size=(size, size), mode=mode, **kwargs)
    return quantize(up * 2 - 1)


def jitter(x01: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random small rotation, scale and shift of 8 x 8 images in [0, 1] (background stays 0)."""
    n = x01.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(12)
    scale = 1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.1
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * 0.2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x01.shape), align_corners=False)
    return F.grid_sample(x01, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def accuracy(net: DigitsNet, images: np.ndarray, labels: np.ndarray, size: int, mode: str) -> float:
    x = torch.from_numpy(images)[:, None]
    with torch.no_grad():
        _, logits = net(prepare(upsample(x, size, mode)))
    return float((logits.argmax(1).numpy() == labels).mean())


def train(epochs: int = EPOCHS) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    images, labels = digits_arrays("train")
    x_all, y_all = torch.from_numpy(images)[:, None], torch.from_numpy(labels)
    net = DigitsNet()
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    steps_per_epoch = math.ceil(len(x_all) / BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=epochs * steps_per_epoch)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(x_all), generator=gen)
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            size = SIZES[int(torch.randint(len(SIZES), (1,), generator=gen))]
            mode = MODES[int(torch.randint(len(MODES), (1,), generator=gen))]
            x = prepare(upsample(jitter(x_all[idx], gen), size, mode))
            _, logits = net(x)
            loss = F.cross_entropy(logits, y_all[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    net.eval()
    with torch.no_grad():
        hidden, _ = net(prepare(upsample(x_all, 32, "bilinear")))
        net.feat_mean.copy_(hidden.mean(0))
        net.feat_std.copy_(hidden.std(0).clamp_min(1e-3))
    test_images, test_labels = digits_arrays("test")
    per_path = {f"{s}px-{m}": accuracy(net, test_images, test_labels, s, m) for s, m in EVAL_PATHS}
    train_acc = accuracy(net, images, labels, 32, "bilinear")
    meta = {
        "format": "ganzoo-digits-extractor",
        "arch_version": ARCH_VERSION,
        "train_split": f"train half of ganzoo.data.digits_split ({len(split_indices('train'))} images)",
        "test_split": f"test half ({len(split_indices('test'))} images)",
        "test_accuracy": f"{np.mean(list(per_path.values())):.4f}",
        "test_accuracy_min": f"{min(per_path.values()):.4f}",
        "test_accuracy_32px_bilinear": f"{per_path['32px-bilinear']:.4f}",
        "test_accuracy_by_path": json.dumps({k: round(v, 4) for k, v in per_path.items()}),
        "train_accuracy_32px_bilinear": f"{train_acc:.4f}",
        "seed": str(SEED),
        "epochs": str(epochs),
        "resizer": "gray mean, bilinear antialias to 16x16",
        "script": "scripts/train_digits_extractor.py",
    }
    state = {k: v.detach().contiguous().clone() for k, v in net.state_dict().items()}
    return state, meta


def write(state: dict[str, torch.Tensor], meta: dict[str, str], out: Path) -> None:
    from safetensors.torch import save_file

    from ganzoo.atomic import atomic_path

    with atomic_path(out) as tmp:
        save_file(state, str(tmp), metadata=meta)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=shipped_weights(), help="where to write the weights")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--check", action="store_true", help="retrain and compare with the file at --out")
    args = parser.parse_args(argv)
    state, meta = train(args.epochs)
    print(json.dumps(meta, indent=2))
    if args.check:
        from safetensors import safe_open
        from safetensors.torch import load_file

        shipped = load_file(str(args.out))
        with safe_open(str(args.out), "pt") as fh:
            same_meta = fh.metadata() == meta
        same = same_meta and shipped.keys() == state.keys() and all(torch.equal(shipped[k], state[k]) for k in state)
        print("identical to", args.out if same else f"DIFFERENT from {args.out}")
        return 0 if same else 1
    write(state, meta, args.out)
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
