"""The 8-Gaussians toy of Gulrajani et al. (2017): WGAN-GP covers every mode, a plain GAN fewer.

Both runs go through the engine's Trainer and the same `GANModel` update as the image models; only
the networks (small MLPs of three hidden ReLU layers, as in the paper's toy experiments, 128 units
wide instead of 512 to fit a test) and the data (2-D points, shaped as N x 2 x 1 x 1 "images")
differ. WGAN-GP is the plugin's own `WGANGP` class with the settings of the authors' toy script
(5 critic steps, Adam 1e-4 with betas (0.5, 0.9), penalty weight 0.1: "smaller lambda seems to help
for toy tasks"); the plain GAN is `GANModel` with the non-saturating loss and its usual DCGAN recipe
(one discriminator step, Adam 2e-4 with betas (0.5, 0.999)). Both make the same number of generator
updates from the same seed.

Mode coverage: the data are 8 Gaussians of standard deviation 0.02 centred on a circle of radius 2.
A mode is *covered* when at least 1% of 2000 generated points lie within 3 standard deviations (0.06)
of its centre. As a looser view of collapse the test also prints how many modes are *visited*: the
nearest centre of at least 1% of the points (a collapsed generator visits one mode, however blurry).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch
from torch import nn

RADIUS = 2.0
STD = 0.02
CENTRES = torch.tensor([[RADIUS * math.cos(k * math.pi / 4), RADIUS * math.sin(k * math.pi / 4)] for k in range(8)])
HIDDEN = 128
STEPS = 2000
BATCH = 256
N_EVAL = 2000
MIN_SHARE = 0.01
WGAN_GP_ADAM = {"lr": 1e-4, "betas": (0.5, 0.9)}
GAN_ADAM = {"lr": 2e-4, "betas": (0.5, 0.999)}
GP_WEIGHT = 0.1


@dataclass
class ToyConfig:
    gp_weight: float = 10.0


class MLP(nn.Module):
    def __init__(self, n_in: int, n_out: int, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                  nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1))


class PointGenerator(MLP):
    def __init__(self) -> None:
        super().__init__(2, 2)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return super().forward(z).view(-1, 2, 1, 1)


class PointCritic(MLP):
    def __init__(self) -> None:
        super().__init__(2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).view(-1)


def eight_gaussians(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    which = torch.randint(0, 8, (n,), generator=g)
    return CENTRES[which] + STD * torch.randn(n, 2, generator=g)


def train_toy(kind: str, *, steps: int = STEPS, seed: int = 0):
    """Train the toy with `kind` "wgan_gp" or "gan" through the engine's Trainer; return the model."""
    from ganzoo_wgan.model import WGANGP

    from ganzoo.data.source import DataSource
    from ganzoo.data.tensors import TensorImages
    from ganzoo.engine import GANModel
    from ganzoo.engine.trainer import Trainer
    from ganzoo.losses import get_loss
    from ganzoo.run_config import RunConfig
    from ganzoo.train_config import TrainConfig

    torch.manual_seed(seed)
    G, D = PointGenerator(), PointCritic()
    cls, loss, d_steps, adam = (WGANGP, "wasserstein", 5, WGAN_GP_ADAM) if kind == "wgan_gp" else \
        (GANModel, "bce", 1, GAN_ADAM)
    opt_g = torch.optim.Adam(G.parameters(), **adam)
    opt_d = torch.optim.Adam(D.parameters(), **adam)
    model = cls(ToyConfig(GP_WEIGHT), generator=G, discriminator=D, opt_g=opt_g, opt_d=opt_d, loss=get_loss(loss),
                latent_dim=2)
    points = eight_gaussians(BATCH * 100, seed=1000 + seed).view(-1, 2, 1, 1)
    data = DataSource(ref="8gaussians", kind="images", train=TensorImages(points), channels=2, image_size=1,
                      in_memory=True)
    train = TrainConfig(steps=steps, batch_size=BATCH, d_steps=d_steps, seed=seed, device="cpu",
                        diagnostics_every=0, log_every=steps)
    run = RunConfig(f"toy-{kind}", "", "", train, ToyConfig())
    Trainer(run, model, data, None, device=torch.device("cpu"), progress=False).fit()
    return model


def covered_modes(points: torch.Tensor) -> tuple[int, list[float]]:
    """(number of covered modes, share of points within 3 std of each centre)."""
    dist = torch.cdist(points, CENTRES)
    shares = [(dist[:, k] <= 3 * STD).float().mean().item() for k in range(8)]
    return sum(s >= MIN_SHARE for s in shares), shares


def visited_modes(points: torch.Tensor) -> int:
    """Number of modes that are the nearest centre of at least 1% of the points."""
    nearest = torch.cdist(points, CENTRES).argmin(dim=1)
    return int((torch.bincount(nearest, minlength=8).float() / len(points) >= MIN_SHARE).sum())


def samples(model) -> torch.Tensor:
    model.eval()
    return model.generate(N_EVAL, generator=torch.Generator().manual_seed(7)).view(-1, 2)


def test_the_measure_counts_real_data_and_a_collapsed_generator() -> None:
    assert covered_modes(eight_gaussians(N_EVAL, seed=3))[0] == 8
    collapsed = CENTRES[2] + STD * torch.randn(N_EVAL, 2, generator=torch.Generator().manual_seed(0))
    assert covered_modes(collapsed)[0] == 1
    assert visited_modes(eight_gaussians(N_EVAL, seed=3)) == 8 and visited_modes(collapsed) == 1
    blurry = 0.75 * CENTRES[5] + torch.randn(N_EVAL, 2, generator=torch.Generator().manual_seed(0)) * 0.1
    assert covered_modes(blurry)[0] == 0 and visited_modes(blurry) == 1


@pytest.mark.slow
def test_wgan_gp_covers_all_modes_where_a_plain_gan_covers_fewer() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gp_points = samples(train_toy("wgan_gp"))
        gan_points = samples(train_toy("gan"))
    finally:
        torch.set_num_threads(threads)
    (gp_modes, gp_shares), (gan_modes, gan_shares) = covered_modes(gp_points), covered_modes(gan_points)
    print(f"\n8 Gaussians after {STEPS} generator steps: WGAN-GP covers {gp_modes}/8 modes "
          f"(shares {[round(s, 3) for s in gp_shares]}; visits {visited_modes(gp_points)}/8), plain GAN covers "
          f"{gan_modes}/8 (shares {[round(s, 3) for s in gan_shares]}; visits {visited_modes(gan_points)}/8)")
    assert gp_modes == 8
    assert gan_modes < gp_modes
