"""The toy model's networks and data (imported only when training or sampling)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ganzoo.data.source import DataOptions, DataRef, DataSource
from ganzoo.engine import GANModel, StepContext
from ganzoo.losses import get_loss


class ToyGenerator(nn.Module):
    def __init__(self, latent: int, hidden: int, channels: int, size: int, dropout: float) -> None:
        super().__init__()
        self.shape = (channels, size, size)
        self.body = nn.Sequential(
            nn.Linear(latent, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, channels * size * size), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z).view(z.shape[0], *self.shape)


class ToyDiscriminator(nn.Module):
    def __init__(self, hidden: int, channels: int, size: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(channels * size * size, hidden), nn.LeakyReLU(0.2),
                                  nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).view(-1)


class ToyGAN(GANModel):
    default_ema_decay = None

    def train_step(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        logs = super().train_step(ctx)
        if self.config.explode_at and ctx.step + 1 >= self.config.explode_at:
            logs["loss_g"] = logs["loss_g"] * float("nan")
        return logs

    def extra_state(self) -> dict[str, Any]:
        return {"note": "toy", "calls": torch.tensor([1, 2, 3])}


def build(config: Any, *, training: bool = True) -> ToyGAN:
    channels = config.channels or 1
    G = ToyGenerator(config.latent_dim, config.hidden, channels, config.image_size, config.dropout)
    D = ToyDiscriminator(config.hidden, channels, config.image_size)
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr, betas=(0.5, 0.999))
    model = ToyGAN(config, generator=G, discriminator=D, opt_g=opt_g, opt_d=opt_d, loss=get_loss(config.loss),
                   latent_dim=config.latent_dim)
    model.default_compile = config.compile_by_default
    if config.schedule:
        model.schedulers = {
            name: torch.optim.lr_scheduler.LambdaLR(opt, lambda step: max(0.1, 1.0 - step / 1000))
            for name, opt in model.optimizers.items()
        }
    return model


class SquaresDataset:
    """In-memory keyed data set; a random horizontal flip per item exercises key seeds."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, flip: bool) -> None:
        self.images = images
        self.labels = labels
        self.flip = flip

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        index, seed = key
        image = self.images[index]
        if self.flip and torch.rand((), generator=torch.Generator().manual_seed(seed)) < 0.5:
            image = image.flip(-1)
        return {"image": image, "label": self.labels[index]}

    def get_batch(self, keys: list[tuple[int, int]]) -> dict[str, torch.Tensor]:
        items = [self[k] for k in keys]
        return {"image": torch.stack([i["image"] for i in items]), "label": torch.stack([i["label"] for i in items])}


def load_squares(ref: DataRef, options: DataOptions) -> DataSource:
    size = options.image_size or 8
    channels = options.channels or 1
    g = torch.Generator().manual_seed(1234)
    n = 256
    images = torch.full((n, channels, size, size), -1.0)
    labels = torch.zeros(n, dtype=torch.int64)
    side = max(2, size // 4)
    for i in range(n):
        top = int(torch.randint(0, size - side + 1, (1,), generator=g))
        left = int(torch.randint(0, size - side + 1, (1,), generator=g))
        images[i, :, top:top + side, left:left + side] = 1.0
        labels[i] = (top >= size // 2) * 2 + (left >= size // 2)
    train = SquaresDataset(images[:192], labels[:192], flip=True)
    test = SquaresDataset(images[192:], labels[192:], flip=False)
    return DataSource(ref=ref.text, kind="labelled", train=train, test=test, channels=channels, image_size=size,
                      num_classes=4, class_names=("tl", "tr", "bl", "br"), in_memory=True,
                      fingerprint=f"toy-squares-{size}-{channels}")


def convert_state_dict(path, checkpoint):
    """Converter of the toy model for the `torch-state-dict` format ({"G": state_dict, ...})."""
    from ganzoo.pretrained import Converted, load_torch_weights

    data = load_torch_weights(path)
    return Converted(nets={name: dict(sd) for name, sd in data.items()}, notes={"converter": "toy"})
