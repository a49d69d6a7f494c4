"""Checkpoint save and load time under plkit against ``torch.save`` / ``torch.load``.

Run::

    python benchmarks/checkpoint_io.py            # a ~50 MB checkpoint, median of 9
    python benchmarks/checkpoint_io.py --quick    # a ~3 MB checkpoint, median of 2

The model is an MLP (1024 -> 2048 -> 1024, 4.2 M parameters) after one Adam step, so the file
holds weights plus Adam's two moments: about 50 MB. The plain side saves the very dict plkit
writes (read back from plkit's file), so both write the same bytes. Always wall-clock time:
plkit's save flushes the file to disk (``fsync``) before renaming it into place, and that wait
is part of what it costs; the extra row "torch.save + fsync + rename" shows how much of the
difference is that durability and how much is plkit's own work.

The second table is the training loop's stall per save for a model of about 113 MB of state
(MLP 1536 -> 3072 -> 1536 with Adam; 512 wide with ``--quick``): how long
``trainer.save_checkpoint`` blocks with the default writer against ``AsyncCheckpointIO``
(which blocks only while the tensors are copied to host memory; each round then waits for the
background write before the next one starts, outside the timing). Target: the async stall at
most 1/4 of the synchronous save. A last row does the same for a sharded FSDP checkpoint on 2
CPU gloo ranks (``FSDPStrategy(state_dict_type="sharded")``, the same model, rank 0's stall in
``strategy.save_checkpoint``): each rank writes its half, synchronously against in the
background (``torch.distributed.checkpoint.async_save``).
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from collections.abc import Callable

import torch
import torch.distributed as dist
from _common import Row, machine_summary, median, parse_args, print_table, quiet, verdict
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from placcel import build_strategy
from placcel.strategies import FSDPStrategy
from placcel.testing import run_on_ranks
from plkit.plugins import AsyncCheckpointIO, TorchCheckpointIO

__all__ = ["main"]

SAVE_TARGET = 1.10
STALL_TARGET = 0.25
SAVE = "save: trainer.save_checkpoint vs torch.save"
DURABLE = "save: vs torch.save + fsync + rename"
LOAD = "load: strategy.load_checkpoint vs torch.load"
RESTORE = "restore: load_from_checkpoint vs load+init"


class WideModule(pl.LightningModule):
    """An MLP ``width -> 2 * width -> width`` trained with Adam."""

    def __init__(self, width: int = 1024) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Linear(width, 2 * width), nn.ReLU(), nn.Linear(2 * width, width)
        )

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        x, y = batch
        return F.mse_loss(self.net(x), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=1e-3)


def trained_trainer(width: int, root: str) -> tuple[pl.Trainer, WideModule]:
    """A Trainer that has fitted one batch, so Adam's state exists."""
    data = TensorDataset(torch.randn(8, width), torch.randn(8, width))
    model = WideModule(width)
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=1,
        default_root_dir=root,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    with quiet():
        trainer.fit(model, DataLoader(data, batch_size=8))
    return trainer, model


def timed(action: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def save_fsync_rename(obj: object, path: str) -> None:
    """What a careful plain script does: write a temporary file, flush it to disk, rename."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as file:
        torch.save(obj, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)


def plain_restore(path: str, width: int) -> nn.Module:
    """torch.load, build the model, load its weights: the plain equivalent of load_from_checkpoint."""
    checkpoint = torch.load(path, weights_only=True)
    model = WideModule(width)
    model.load_state_dict(checkpoint["state_dict"])
    return model


Pair = tuple[str, Callable[[], object], Callable[[], object]]


def measure(pairs: list[Pair], rounds: int) -> dict[str, tuple[float, float, float]]:
    """Per pair: median plain seconds, median plkit seconds, median of the per-round ratios.

    Each round times every pair's two sides back to back, alternating which goes first, so a
    busy spell on the machine hits both sides of a ratio alike. Round 0 warms up and is dropped.
    """
    times: dict[str, tuple[list[float], list[float]]] = {label: ([], []) for label, _, _ in pairs}
    for r in range(rounds + 1):
        for label, plain, ours in pairs:
            if r % 2:
                t_ours, t_plain = timed(ours), timed(plain)
            else:
                t_plain, t_ours = timed(plain), timed(ours)
            if r:
                times[label][0].append(t_plain)
                times[label][1].append(t_ours)
    return {
        label: (median(p), median(o), median([b / a for a, b in zip(p, o)]))
        for label, (p, o) in times.items()
    }


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    torch.set_num_threads(1)
    width, rounds = (256, 2) if args.quick else (1024, 9)
    rounds = args.rounds or rounds
    with tempfile.TemporaryDirectory() as root:
        trainer, _ = trained_trainer(width, root)
        ours, plain = os.path.join(root, "plkit.ckpt"), os.path.join(root, "plain.ckpt")
        trainer.save_checkpoint(ours)
        checkpoint = torch.load(ours, weights_only=True)
        size_mb = os.path.getsize(ours) / 1e6
        results = measure(
            [
                (
                    SAVE,
                    lambda: torch.save(checkpoint, plain),
                    lambda: trainer.save_checkpoint(ours),
                ),
                (
                    DURABLE,
                    lambda: save_fsync_rename(checkpoint, plain),
                    lambda: trainer.save_checkpoint(ours),
                ),
                (
                    LOAD,
                    lambda: torch.load(plain, weights_only=True),
                    lambda: trainer.strategy.load_checkpoint(ours),
                ),
                (
                    RESTORE,
                    lambda: plain_restore(plain, width),
                    lambda: WideModule.load_from_checkpoint(ours),
                ),
            ],
            rounds,
        )
    print_table(
        f"Checkpoint I/O: {size_mb:.1f} MB (MLP {width}-{2 * width}-{width} + Adam state), "
        f"median of {rounds} rounds (ratio: median of per-round ratios), wall time\n{machine_summary()}",
        ("operation", "plain ms", "plkit ms", "ratio", "target", "result"),
        _rows(results),
    )
    measure_stall(512 if args.quick else 1536, rounds)


def measure_stall(width: int, rounds: int) -> None:
    """The loop's stall per save, synchronous writer against AsyncCheckpointIO, one table."""
    with tempfile.TemporaryDirectory() as root:
        trainer, _ = trained_trainer(width, root)
        path = os.path.join(root, "stall.ckpt")
        sync_io, async_io = TorchCheckpointIO(), AsyncCheckpointIO(TorchCheckpointIO())

        def save_with(io: object) -> Callable[[], object]:
            def save() -> None:
                trainer.strategy.checkpoint_io = io
                trainer.save_checkpoint(path)

            return save

        sync_times, async_times = [], []
        for r in range(rounds + 1):
            t_sync = timed(save_with(sync_io))
            t_async = timed(save_with(async_io))
            async_io.wait()  # the write finishes outside the timed stall
            if r:
                sync_times.append(t_sync)
                async_times.append(t_async)
        async_io.teardown()
        size_mb = os.path.getsize(path) / 1e6
    ratio = median([a / s for s, a in zip(sync_times, async_times)])
    sharded = run_on_ranks(sharded_stall, 2, 600, width, rounds)[0]
    sharded_ratio = median([a / s for s, a in zip(*sharded)])
    print_table(
        f"Training-loop stall per save: {size_mb:.1f} MB (MLP {width}-{2 * width}-{width} + Adam "
        f"state), median of {rounds} rounds, wall time",
        ("writer", "sync ms", "async ms", "ratio", "target", "result"),
        [
            Row(
                "trainer.save_checkpoint: TorchCheckpointIO vs AsyncCheckpointIO",
                (
                    f"{median(sync_times) * 1e3:.1f}",
                    f"{median(async_times) * 1e3:.1f}",
                    f"{ratio:.2f}x",
                    f"<= {STALL_TARGET:.2f}x",
                    verdict(ratio <= STALL_TARGET),
                ),
            ),
            Row(
                "FSDP sharded, 2 ranks: strategy.save_checkpoint sync vs async",
                (
                    f"{median(sharded[0]) * 1e3:.1f}",
                    f"{median(sharded[1]) * 1e3:.1f}",
                    f"{sharded_ratio:.2f}x",
                    f"<= {STALL_TARGET:.2f}x",
                    verdict(sharded_ratio <= STALL_TARGET),
                ),
            ),
        ],
    )


def sharded_stall(width: int, rounds: int) -> tuple[list[float], list[float]]:
    """On each of 2 gloo ranks: the stall of a sharded FSDP save, sync IO against async IO."""
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as own:
        shared = [own]
        dist.broadcast_object_list(shared, src=0)  # rank 0's folder, for both ranks
        root = shared[0]
        sync_io, async_io = TorchCheckpointIO(), AsyncCheckpointIO(TorchCheckpointIO())
        strategy = build_strategy(
            accelerator="cpu", strategy=FSDPStrategy(state_dict_type="sharded"), devices=2
        )
        strategy.setup_environment()
        torch.manual_seed(0)
        model = strategy.setup_module(WideModule(width).net)
        opt = torch.optim.Adam(model.parameters())
        model(torch.randn(4, width)).sum().backward()
        opt.step()
        path = os.path.join(root, "stall.ckpt")

        def save_with(io: object) -> Callable[[], object]:
            def save() -> None:
                strategy.checkpoint_io = io
                checkpoint = {
                    "state_dict": strategy.module_state_dict(model),
                    "optimizer_states": [strategy.optimizer_state(opt)],
                    "global_step": 1,
                }
                strategy.save_checkpoint(checkpoint, path)

            return save

        sync_times, async_times = [], []
        for r in range(rounds + 1):
            strategy.barrier()
            t_sync = timed(save_with(sync_io))
            strategy.barrier()
            t_async = timed(save_with(async_io))
            strategy.load_checkpoint(path, weights_only=True)  # waits for the write, untimed
            if r:
                sync_times.append(t_sync)
                async_times.append(t_async)
        strategy.teardown()
        dist.barrier()
    return sync_times, async_times


def _rows(results: dict[str, tuple[float, float, float]]) -> list[Row]:
    rows = []
    for label, (plain, ours, ratio) in results.items():
        target = SAVE_TARGET if label == SAVE else None
        limit = f"<= {target:.2f}x" if target else ""
        result = verdict(ratio <= target) if target else ""
        cells = (f"{plain * 1e3:.1f}", f"{ours * 1e3:.1f}", f"{ratio:.2f}x", limit, result)
        rows.append(Row(label, cells))
    return rows


if __name__ == "__main__":
    main()
