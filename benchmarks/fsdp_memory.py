"""Per-rank memory of parameters, gradients and optimizer state: FSDP against DDP, 2 CPU ranks.

Run::

    python benchmarks/fsdp_memory.py            # 8 layers of 1024 x 1024, Adam
    python benchmarks/fsdp_memory.py --quick    # 4 layers of 256 x 256

CPU has no allocator statistics, so the bytes are counted from the tensors themselves after one
training step: every distinct storage behind a parameter (for FSDP its local shard), its
gradient and the optimizer's state tensors, counted once each (DDP's gradients are views into
its buckets, which count once). Both strategies run through placcel on 2 gloo ranks; with
``auto_wrap_policy={nn.Linear}`` each layer is its own FSDP unit. The target is FSDP's
per-rank bytes at most 0.55x DDP's (1 / world size, plus what cannot be split evenly).
"""

from __future__ import annotations

from typing import Any

import torch
from _common import Row, machine_summary, parse_args, print_table, verdict
from torch import nn

from placcel import build_strategy
from placcel.strategies import FSDPStrategy
from placcel.testing import run_on_ranks

__all__ = ["main"]

TARGET = 0.55


def _model(width: int, layers: int) -> nn.Module:
    torch.manual_seed(0)
    blocks: list[nn.Module] = []
    for _ in range(layers):
        blocks += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*blocks)


def _storage_bytes(tensors: Any) -> int:
    seen: dict[int, int] = {}
    for tensor in tensors:
        local = tensor.to_local() if hasattr(tensor, "to_local") else tensor
        storage = local.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
    return sum(seen.values())


def _rank(strategy_name: str, width: int, layers: int) -> dict[str, int]:
    """One Adam step on this rank; bytes of parameters, gradients and optimizer state."""
    flag: Any = FSDPStrategy(auto_wrap_policy={nn.Linear}) if strategy_name == "fsdp" else "ddp"
    strategy = build_strategy(accelerator="cpu", strategy=flag, devices=2)
    strategy.setup_environment()
    module = strategy.setup_module(_model(width, layers))
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    module(torch.randn(4, width)).sum().backward()
    optimizer.step()
    params = list(module.parameters())
    states = [v for s in optimizer.state.values() for v in s.values() if v.dim() > 0]
    return {
        "parameters": _storage_bytes(params),
        "gradients": _storage_bytes(p.grad for p in params if p.grad is not None),
        "optimizer": _storage_bytes(states),
    }


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    width, layers = (256, 4) if args.quick else (1024, 8)
    results = {name: run_on_ranks(_rank, 2, 300, name, width, layers) for name in ("ddp", "fsdp")}
    rows = []
    for part in ("parameters", "gradients", "optimizer"):
        ddp = max(r[part] for r in results["ddp"])
        fsdp = max(r[part] for r in results["fsdp"])
        rows.append(
            Row(part, (f"{ddp / 1e6:.1f}", f"{fsdp / 1e6:.1f}", f"{fsdp / ddp:.2f}x", "", ""))
        )
    ddp_total = max(sum(r.values()) for r in results["ddp"])
    fsdp_total = max(sum(r.values()) for r in results["fsdp"])
    ratio = fsdp_total / ddp_total
    rows.append(
        Row(
            "total (the larger rank)",
            (
                f"{ddp_total / 1e6:.1f}",
                f"{fsdp_total / 1e6:.1f}",
                f"{ratio:.2f}x",
                f"<= {TARGET:.2f}x",
                verdict(ratio <= TARGET),
            ),
        )
    )
    print_table(
        f"Per-rank memory after one Adam step, 2 ranks: {layers} x Linear({width}, {width})\n"
        f"{machine_summary()}",
        ("per rank", "DDP MB", "FSDP MB", "ratio", "target", "result"),
        rows,
    )


if __name__ == "__main__":
    main()
