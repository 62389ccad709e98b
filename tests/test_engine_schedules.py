"""ganzoo.engine.schedules: the linear-decay policy of the CycleGAN/pix2pix reference, epoch by epoch."""

from __future__ import annotations

import pickle

import pytest
import torch

from ganzoo.engine.schedules import LinearDecay
from ganzoo.testing.translation_reference import linear_rates


def test_linear_decay_factors():
    f = LinearDecay(100, 100)
    assert [f(e) for e in (0, 50, 98)] == [1.0, 1.0, 1.0]  # epochs 1 .. 99 at the full rate
    assert f(99) == pytest.approx(100 / 101) and f(198) == pytest.approx(1 / 101) and f(199) == 0.0
    assert LinearDecay(0, 3)(0) == pytest.approx(0.5) and LinearDecay(1, 1)(5) == 0.0  # never negative


@pytest.mark.parametrize(("n_epochs", "n_epochs_decay"), [(100, 100), (1, 2), (3, 3), (2, 0), (5, 1)])
def test_factors_are_the_reference_loop_epoch_by_epoch(n_epochs, n_epochs_decay):
    f = LinearDecay(n_epochs, n_epochs_decay)
    ours = [2e-4 * f(e) for e in range(n_epochs + n_epochs_decay)]
    assert ours == pytest.approx(linear_rates(n_epochs, n_epochs_decay), rel=1e-12, abs=1e-15)


def test_scheduler_state_round_trips():
    # LambdaLR saves the state of callable objects, so a resumed scheduler continues the same decay.
    def scheduler():
        opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        return opt, torch.optim.lr_scheduler.LambdaLR(opt, LinearDecay(1, 3))

    opt, sched = scheduler()
    for _ in range(2):
        opt.step()  # the engine's order: an optimizer step, then the schedule's
        sched.step()
    state = pickle.loads(pickle.dumps(sched.state_dict()))
    opt2, sched2 = scheduler()
    sched2.load_state_dict(state)
    for o, s in ((opt, sched), (opt2, sched2)):
        o.step()
        s.step()
    assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"] == pytest.approx(LinearDecay(1, 3)(3))
