"""ganzoo.engine.schedules: the linear-decay policy of the CycleGAN/pix2pix reference, epoch by epoch."""

from __future__ import annotations

import pickle

import pytest
import torch

from ganzoo.engine.schedules import LinearDecay


def test_linear_decay_factors():
    f = LinearDecay(100, 100)
    assert [f(e) for e in (0, 50, 99)] == [1.0, 1.0, 1.0]
    assert f(100) == pytest.approx(100 / 101) and f(199) == pytest.approx(1 / 101)
    assert LinearDecay(0, 3)(0) == pytest.approx(0.75)


def test_scheduler_state_round_trips():
    # LambdaLR saves the state of callable objects, so a resumed scheduler continues the same decay.
    def scheduler():
        opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        return opt, torch.optim.lr_scheduler.LambdaLR(opt, LinearDecay(1, 3))

    opt, sched = scheduler()
    for _ in range(2):
        sched.step()
    state = pickle.loads(pickle.dumps(sched.state_dict()))
    opt2, sched2 = scheduler()
    sched2.load_state_dict(state)
    sched.step()
    sched2.step()
    assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"] == pytest.approx(1 / 4)
