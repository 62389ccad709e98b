"""The growth schedule: stage, alpha, phase and batch size as functions of the real images shown."""

from __future__ import annotations

import pytest
from ganzoo_progan.schedule import GrowthSchedule, num_stages


def test_paper_schedule() -> None:
    s = GrowthSchedule(1024, 800_000, 800_000, (16, 16, 16, 16, 16, 16, 14, 6, 3))
    assert s.stages == num_stages(1024) == 9
    assert s.total_images == 800_000 + 8 * 1_600_000
    assert s.at(0).resolution == 4 and s.at(799_999).resolution == 4
    start = s.at(800_000)
    assert (start.resolution, start.alpha, start.fading) == (8, 0.0, True)
    assert s.at(1_200_000).alpha == pytest.approx(0.5)
    assert (s.at(1_600_000).resolution, s.at(1_600_000).alpha, s.at(1_600_000).fading) == (8, 1.0, False)
    assert s.phase_start(8) == 800_000 + 7 * 1_600_000
    assert s.at(10**9).resolution == 1024 and s.at(10**9).alpha == 1.0
    assert [s.batch_size(k) for k in range(9)] == [16, 16, 16, 16, 16, 16, 14, 6, 3]
    assert s.batch_size(20) == 3


def test_alpha_rises_linearly_through_each_fade() -> None:
    s = GrowthSchedule(32, 100, 50, (8,))
    for stage in (1, 2, 3):
        start = s.phase_start(stage)
        for seen in range(0, 100, 7):
            pos = s.at(start + seen)
            assert pos.stage == stage and pos.alpha == pytest.approx(seen / 100) and pos.fading
        assert s.at(start + 100).alpha == 1.0 and not s.at(start + 100).fading
    phases = [s.at(n).phase for n in range(0, s.total_images + 10)]
    assert phases == sorted(phases) and set(phases) == set(range(7))


def test_total_steps_follow_batch_sizes() -> None:
    s = GrowthSchedule(16, 64, 64, (16, 8))
    # 4x4: 64 / 16 = 4 steps; 8x8 and 16x16: 128 / 8 = 16 steps each.
    assert s.total_steps() == 36
    assert s.total_steps(d_steps=2) == 18
    uneven = GrowthSchedule(8, 10, 10, (4,))
    # 4x4: 3 steps (12 images); 8x8 fade ends at 20 -> 2 steps (20); stable ends at 30 -> 3 steps (32).
    assert uneven.total_steps() == 8


def test_image_counts_per_resolution() -> None:
    # Fade-ins listed from 8x8 on, stabilisation from 4x4 on; the last value repeats.
    s = GrowthSchedule(32, (10, 20), (5, 30, 40), (4, 2))
    assert [(p.stage, p.fading, p.images) for p in s.phases] == \
        [(0, False, 5), (1, True, 10), (1, False, 30), (2, True, 20), (2, False, 40), (3, True, 20), (3, False, 40)]
    assert s.total_images == 165 and s.at(5 + 10 + 30 + 10).alpha == pytest.approx(0.5)
    with pytest.raises(ValueError, match="batch_sizes"):
        GrowthSchedule(32, 1, 1, (4, 0))
    with pytest.raises(ValueError, match="fade_images"):
        GrowthSchedule(32, (), 1, (4,))


def test_zero_fade_jumps_straight_to_the_new_resolution() -> None:
    s = GrowthSchedule(16, 0, 10, (2,))
    assert s.at(9).resolution == 4 and s.at(10).resolution == 8 and s.at(10).alpha == 1.0


@pytest.mark.parametrize("size", [3, 12, 2])
def test_image_size_must_be_a_power_of_two(size: int) -> None:
    with pytest.raises(ValueError):
        GrowthSchedule(size, 1, 1, (1,))
