"""The image pool: the reference's swap rule on Python's `random`, and its checkpointed state."""

from __future__ import annotations

import random

import torch
from ganzoo_cyclegan.pool import ImagePool


def expected_outputs(batches: list[list[int]], size: int, seed: int) -> list[list[int]]:
    """The ids the pool must return, simulated on plain lists with the same random draws."""
    rng = random.Random(seed)
    stored: list[int] = []
    result = []
    for batch in batches:
        out = []
        for item in batch:
            if len(stored) < size:
                stored.append(item)
                out.append(item)
            elif rng.uniform(0, 1) > 0.5:
                slot = rng.randint(0, size - 1)
                out.append(stored[slot])
                stored[slot] = item
            else:
                out.append(item)
        result.append(out)
    return result


def as_images(ids: list[int]) -> torch.Tensor:
    return torch.tensor(ids, dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, 1, 2, 2).contiguous()


def ids_of(images: torch.Tensor) -> list[int]:
    return [int(v) for v in images[:, 0, 0, 0]]


def test_swap_rule_matches_the_reference_draws():
    batches = [[3 * i, 3 * i + 1, 3 * i + 2] for i in range(40)]
    pool = ImagePool(5)
    random.seed(11)
    got = [ids_of(pool.query(as_images(b))) for b in batches]
    assert got == expected_outputs(batches, 5, 11)
    assert got[0] == [0, 1, 2] and len(pool) == 5
    assert any(out != batch for out, batch in zip(got[2:], batches[2:]))  # swaps happen once full


def test_size_zero_passes_images_through():
    pool = ImagePool(0)
    x = torch.randn(2, 3, 4, 4)
    assert pool.query(x) is x and len(pool) == 0


def test_state_round_trip_continues_identically():
    batches = [[2 * i, 2 * i + 1] for i in range(30)]
    random.seed(5)
    straight = ImagePool(4)
    ref = [ids_of(straight.query(as_images(b))) for b in batches]

    random.seed(5)
    first = ImagePool(4)
    part = [ids_of(first.query(as_images(b))) for b in batches[:12]]
    state, rng_state = first.state_dict(), random.getstate()
    assert state["images"].shape == (4, 1, 2, 2)
    second = ImagePool(4)
    second.load_state_dict(state)
    random.setstate(rng_state)
    rest = [ids_of(second.query(as_images(b))) for b in batches[12:]]
    assert part + rest == ref
    empty = ImagePool(4).state_dict()
    restored = ImagePool(4)
    restored.load_state_dict(empty)
    assert len(restored) == 0
