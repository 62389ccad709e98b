"""Data-parallel training across processes (torchrun or `ganzoo train --nproc-per-node N`).

Every optimizer step averages gradients over processes (one all-reduce per optimizer step, through
`StepContext.step_optimizer`), so every family is data-parallel without wrapping its networks.
Process 0 writes files and shows progress; the others only compute.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class DistInfo:
    """Who this process is in a distributed run (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()

    def average_gradients(self, optimizer: torch.optim.Optimizer) -> None:
        """All-reduce (mean) the gradients of `optimizer`'s parameters, one flat buffer per dtype."""
        grads: dict[torch.dtype, list[torch.Tensor]] = {}
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    grads.setdefault(p.grad.dtype, []).append(p.grad)
        for tensors in grads.values():
            flat = torch.cat([g.reshape(-1) for g in tensors])
            torch.distributed.all_reduce(flat)
            flat.div_(self.world_size)
            offset = 0
            for g in tensors:
                n = g.numel()
                g.copy_(flat[offset:offset + n].view_as(g))
                offset += n

    def broadcast_module(self, module: torch.nn.Module) -> None:
        """Make every process hold process 0's weights and buffers."""
        if not self.enabled:
            return
        for tensor in list(module.parameters()) + list(module.buffers()):
            torch.distributed.broadcast(tensor.data, src=0)

    def broadcast_object(self, obj: Any) -> Any:
        if not self.enabled:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def gather_objects(self, obj: Any) -> list[Any] | None:
        """Every process's `obj` on process 0 (None elsewhere)."""
        if not self.enabled:
            return [obj]
        out: list[Any] | None = [None] * self.world_size if self.is_main else None
        torch.distributed.gather_object(obj, out, dst=0)
        return out

    def all_agree(self, flag: bool) -> bool:
        """True on every process if `flag` is true on any process (e.g. a stop request)."""
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0])
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item() > 0)


def init_distributed(device_kind: str = "cpu") -> DistInfo:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1), else a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if device_kind == "cuda" and torch.cuda.is_available() else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    return DistInfo(rank, world, local_rank, backend)


def shutdown(info: DistInfo) -> None:
    if info.enabled and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
