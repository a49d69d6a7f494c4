"""Cross-process operations, and the null object that stands in for them in one process.

Loops and callbacks call ``reduce`` / ``all_gather`` / ``broadcast`` / ``barrier``
unconditionally; a single process gets :class:`SingleProcessCollectives`, whose operations
return their input, so no caller branches on "am I distributed".

Example (two CPU processes, see ``placcel.testing.run_on_ranks``)::

    collectives = TorchCollectives()
    collectives.reduce(torch.tensor(float(rank)), "mean")  # tensor(0.5) on both ranks
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist

__all__ = ["REDUCE_OPS", "SingleProcessCollectives", "TorchCollectives"]

#: The reduce operations accepted by name (``"avg"`` is an alias of ``"mean"``).
REDUCE_OPS = ("mean", "sum", "max", "min")


def _reduce_op(reduce_op: Any) -> tuple[Any, bool]:
    """Map a name or ``dist.ReduceOp`` to the op to run and whether to divide by world size."""
    if isinstance(reduce_op, str):
        name = reduce_op.lower()
        if name in ("mean", "avg"):
            # gloo has no AVG: sum, then divide.
            return dist.ReduceOp.SUM, True
        ops = {"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX, "min": dist.ReduceOp.MIN}
        if name in ops:
            return ops[name], False
    elif isinstance(reduce_op, dist.ReduceOp.RedOpType):
        if reduce_op == dist.ReduceOp.AVG:
            return dist.ReduceOp.SUM, True
        return reduce_op, False
    raise ValueError(
        f"reduce_op={reduce_op!r} is not supported; write one of {list(REDUCE_OPS)} or pass a "
        "torch.distributed.ReduceOp."
    )


class _AllGatherWithGrad(torch.autograd.Function):
    """all_gather whose backward sends each rank the summed gradient of its own slice."""

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor, group: Any) -> torch.Tensor:
        ctx.group = group
        gathered = [torch.empty_like(tensor) for _ in range(dist.get_world_size(group))]
        dist.all_gather(gathered, tensor, group=group)
        return torch.stack(gathered)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        # Every rank's loss may depend on every slice: sum the gradients over ranks.
        grad = grad_output.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM, group=ctx.group)
        return grad[dist.get_rank(ctx.group)], None


class TorchCollectives:
    """Collectives over a ``torch.distributed`` process group (which must be initialised).

    Args:
        group: the process group; ``None`` for the default (world) group.
        device: the device tensors live on for this back-end (CUDA for nccl); used for barriers.
    """

    def __init__(self, group: Any = None, device: torch.device | None = None) -> None:
        self.group = group
        self.device = device

    @property
    def world_size(self) -> int:
        """The number of processes in the group."""
        return dist.get_world_size(self.group)

    @property
    def global_rank(self) -> int:
        """This process's rank in the group."""
        return dist.get_rank(self.group)

    def reduce(self, tensor: torch.Tensor, reduce_op: Any = "mean") -> torch.Tensor:
        """Reduce ``tensor`` over all processes; the input is left unchanged.

        Args:
            tensor: the value to reduce (same shape on every process).
            reduce_op: ``"mean"``, ``"sum"``, ``"max"``, ``"min"`` or a ``dist.ReduceOp``.
        """
        op, divide = _reduce_op(reduce_op)
        result = tensor.detach().clone()
        if divide and not torch.is_floating_point(result):
            result = result.float()  # an integer mean would truncate
        dist.all_reduce(result, op=op, group=self.group)
        if divide:
            result = result / self.world_size
        return result

    def all_gather(self, tensor: torch.Tensor, sync_grads: bool = False) -> torch.Tensor:
        """Stack ``tensor`` from every process along a new first dimension.

        Args:
            tensor: the value to gather (same shape on every process).
            sync_grads: let gradients flow back through the gather to each process's input
                (each input receives the gradient summed over every process's loss).
        """
        tensor = tensor.contiguous()
        if sync_grads:
            return _AllGatherWithGrad.apply(tensor, self.group)
        gathered = [torch.empty_like(tensor) for _ in range(self.world_size)]
        dist.all_gather(gathered, tensor, group=self.group)
        return torch.stack(gathered)

    def broadcast(self, obj: Any, src: int = 0) -> Any:
        """Send a picklable object from rank ``src`` to every rank and return it.

        Args:
            obj: the object (only rank ``src``'s value matters).
            src: the sending rank.
        """
        holder = [obj]
        dist.broadcast_object_list(holder, src=src, group=self.group, device=self._cuda_device())
        return holder[0]

    def barrier(self, name: str | None = None) -> None:
        """Wait until every process reaches this point.

        Args:
            name: a label for debugging; not sent anywhere.
        """
        device = self._cuda_device()
        if device is not None:
            # nccl barriers warn (and may pick the wrong GPU) without explicit device ids.
            dist.barrier(group=self.group, device_ids=[device.index])
        else:
            dist.barrier(group=self.group)

    def _cuda_device(self) -> torch.device | None:
        if self.device is not None and self.device.type == "cuda":
            return self.device
        return None

    def __repr__(self) -> str:
        return f"TorchCollectives(group={self.group!r}, device={self.device!r})"


class SingleProcessCollectives:
    """The null object for one process: every collective returns its input.

    ``all_gather`` returns the tensor itself, as Lightning's single-device strategy does
    (no new leading dimension).
    """

    world_size: int = 1
    global_rank: int = 0

    def reduce(self, tensor: torch.Tensor, reduce_op: Any = "mean") -> torch.Tensor:
        """Return ``tensor`` (the reduction of one value is itself).

        Args:
            tensor: the value.
            reduce_op: checked, then ignored.
        """
        if isinstance(reduce_op, str) and reduce_op.lower() not in (*REDUCE_OPS, "avg"):
            raise ValueError(
                f"reduce_op={reduce_op!r} is not supported; write one of {list(REDUCE_OPS)}."
            )
        return tensor

    def all_gather(self, tensor: torch.Tensor, sync_grads: bool = False) -> torch.Tensor:
        """Return ``tensor`` unchanged.

        Args:
            tensor: the value.
            sync_grads: ignored.
        """
        return tensor

    def broadcast(self, obj: Any, src: int = 0) -> Any:
        """Return ``obj``.

        Args:
            obj: the object.
            src: ignored.
        """
        return obj

    def barrier(self, name: str | None = None) -> None:
        """Return at once.

        Args:
            name: ignored.
        """

    def __repr__(self) -> str:
        return "SingleProcessCollectives()"
