"""The history of generated images CycleGAN's discriminators see (Shrivastava et al. 2017), checkpointable.

Rule (the reference's): while the pool holds fewer than `size` images, every new image is stored
and passed on. Once full, each new image is, with probability 1/2, swapped for a uniformly chosen
stored image (the stored one is passed on, the new one takes its place); otherwise it is passed on
unchanged. The draws come from Python's `random` module, one `random.uniform(0, 1)` per image and,
on a swap, one `random.randint(0, size - 1)`, as in the reference; the Trainer checkpoints that
generator, and the pool's images are family state (`state_dict`), so a resumed run continues
exactly.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import torch


class ImagePool:
    """Up to `size` earlier generated images; `size` 0 passes every image straight through."""

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError("pool size must be >= 0")
        self.size = size
        self.images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """The images to show the discriminator for the batch `images` (N x C x H x W, detached)."""
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                slot = random.randint(0, self.size - 1)
                stored = self.images[slot].to(device=image.device, dtype=image.dtype, copy=True)
                self.images[slot] = image
                out.append(stored)
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> dict[str, Any]:
        """The stored images as one CPU tensor (K x C x H x W; empty when K = 0)."""
        images = torch.cat([img.detach().cpu() for img in self.images], 0) if self.images else torch.zeros(0)
        return {"size": self.size, "images": images}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        images = state["images"]
        if int(state.get("size", self.size)) != self.size:
            raise ValueError(f"pool of size {state.get('size')} cannot be loaded into a pool of size {self.size}")
        self.images = [img.unsqueeze(0).clone() for img in images] if images.numel() else []
