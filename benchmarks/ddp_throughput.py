"""2-rank DDP throughput on CPU (gloo) under plkit against a plain PyTorch DDP loop.

Run::

    python benchmarks/ddp_throughput.py            # 600 timed steps per rank, median of 5
    python benchmarks/ddp_throughput.py --quick    # 60 steps, 1 round

Both sides train the same MLP (64 -> 256 -> 256 -> 1, batch 32 per rank, SGD, one torch thread
per rank) on the same TensorDataset through a DataLoader with a DistributedSampler, with
``DistributedDataParallel``'s defaults. plkit runs ``Trainer(strategy="ddp", devices=2,
accelerator="cpu")``, which re-runs this script for rank 1; the plain side starts its two ranks
with ``torch.multiprocessing.spawn``. Each side runs in its own fresh process tree.

Process start-up, imports and set-up are left out: inside each rank the DataLoader's
``collate_fn`` reads the clock each time a batch is assembled, and the time from batch 20 to
batch 20 + N is that rank's time for N steps (wall time: waiting for the other rank is part of
a DDP step). Throughput is ``2 ranks x 32 x N / the slower rank's time``. Rounds alternate which
side runs first; "ratio" (which decides PASS / MISS) is the median of the per-round ratios,
"best/best" the ratio of each side's best round, and the range shows how noisy the machine was.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

import torch
from _common import Row, machine_summary, median, parse_args, print_table, quiet, verdict
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset, default_collate

__all__ = ["main"]

TARGET = 0.98
WORLD = 2
BATCH = 32
SKIP = 20


def make_net() -> nn.Module:
    return nn.Sequential(
        nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 1)
    )


def make_dataset(steps: int) -> TensorDataset:
    """Enough samples for ``SKIP + steps + 1`` batches on each of the two ranks."""
    generator = torch.Generator().manual_seed(0)
    n = (SKIP + steps + 1) * BATCH * WORLD
    return TensorDataset(
        torch.randn(n, 64, generator=generator), torch.randn(n, 1, generator=generator)
    )


class StampingCollate:
    """``default_collate`` that first notes ``time.perf_counter()``, one stamp per batch."""

    def __init__(self) -> None:
        self.stamps: list[float] = []

    def __call__(self, samples: list[Any]) -> Any:
        self.stamps.append(time.perf_counter())
        return default_collate(samples)


def _report(out_dir: str, kind: str, rank: int, collate: StampingCollate, steps: int) -> None:
    seconds = collate.stamps[SKIP + steps] - collate.stamps[SKIP]
    with open(os.path.join(out_dir, f"{kind}-{rank}.json"), "w", encoding="utf-8") as file:
        json.dump({"seconds": seconds}, file)


# --- the plain side: torch.multiprocessing.spawn, DistributedDataParallel, a loop -----------------
def _plain_rank(rank: int, steps: int, out_dir: str) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        torch.manual_seed(0)
        model = DistributedDataParallel(make_net())
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        dataset = make_dataset(steps)
        sampler = DistributedSampler(dataset, num_replicas=WORLD, rank=rank, shuffle=False)
        collate = StampingCollate()
        loader = DataLoader(dataset, batch_size=BATCH, sampler=sampler, collate_fn=collate)
        for x, y in loader:
            optimizer.zero_grad()
            F.mse_loss(model(x), y).backward()
            optimizer.step()
        _report(out_dir, "plain", rank, collate, steps)
    finally:
        dist.destroy_process_group()


def child_plain(steps: int, out_dir: str) -> None:
    import torch.multiprocessing as mp

    mp.spawn(_plain_rank, args=(steps, out_dir), nprocs=WORLD, join=True)


# --- the plkit side: Trainer(strategy="ddp"); rank 1 re-runs this script with the same args ------
def child_plkit(steps: int, out_dir: str) -> None:
    import plkit as pl

    class Regressor(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = make_net()

        def training_step(
            self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
        ) -> torch.Tensor:
            x, y = batch
            return F.mse_loss(self.net(x), y)

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    torch.set_num_threads(1)
    torch.manual_seed(0)
    collate = StampingCollate()
    # shuffle=False: the DistributedSampler plkit adds keeps the order, as on the plain side
    loader = DataLoader(make_dataset(steps), batch_size=BATCH, shuffle=False, collate_fn=collate)
    trainer = pl.Trainer(
        accelerator="cpu",
        strategy="ddp",
        devices=WORLD,
        max_epochs=1,
        default_root_dir=out_dir,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    with quiet():
        trainer.fit(Regressor(), loader)
    _report(out_dir, "plkit", trainer.global_rank, collate, steps)


# --- the parent ----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_side(kind: str, steps: int, failures: list[str]) -> float:
    """Samples per second of one side; a crashed run is noted in ``failures`` and run again once.

    Args:
        kind: "plain" or "plkit".
        steps: timed steps per rank.
        failures: where a crashed run's last error line is noted.
    """
    try:
        return _run_side_once(kind, steps)
    except RuntimeError as err:
        failures.append(f"{kind}: {str(err).strip().splitlines()[-1]}")
        return _run_side_once(kind, steps)


def _run_side_once(kind: str, steps: int) -> float:
    with tempfile.TemporaryDirectory() as out_dir:
        env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}
        for name in ("LOCAL_RANK", "RANK", "WORLD_SIZE", "NODE_RANK", "LOCAL_WORLD_SIZE"):
            env.pop(name, None)  # a fresh job, whatever launched this script
        done = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--child", kind, str(steps), out_dir],
            env=env,
            timeout=600,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise RuntimeError(f"the {kind} run failed:\n{done.stderr[-3000:]}")
        seconds = []
        for rank in range(WORLD):
            with open(os.path.join(out_dir, f"{kind}-{rank}.json"), encoding="utf-8") as file:
                seconds.append(json.load(file)["seconds"])
    return WORLD * BATCH * steps / max(seconds)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    steps, rounds = (60, 1) if args.quick else (600, 5)
    rounds = args.rounds or rounds
    plain: list[float] = []
    ours: list[float] = []
    failures: list[str] = []
    for r in range(rounds):
        order = [("plain", plain), ("plkit", ours)]
        for kind, out in order if r % 2 == 0 else order[::-1]:
            out.append(run_side(kind, steps, failures))
    ratios = [o / p for p, o in zip(plain, ours)]
    ratio = median(ratios)
    cells = (
        f"{median(ours):.0f}",
        f"{ratio:.3f}x",
        f"{max(ours) / max(plain):.3f}x",
        f"{min(ratios):.2f}-{max(ratios):.2f}",
        f">= {TARGET:.2f}x",
        verdict(ratio >= TARGET),
    )
    print_table(
        f"DDP throughput: 2 ranks, gloo on CPU, MLP 64-256-256-1, batch {BATCH} per rank, "
        f"{steps} timed steps, median of {rounds} rounds, wall time\n{machine_summary()}",
        ("side", "samples/s", "ratio", "best/best", "ratio range", "target", "result"),
        [
            Row("plain DDP loop (mp.spawn)", (f"{median(plain):.0f}", "", "", "", "", "")),
            Row('plkit Trainer(strategy="ddp")', cells),
        ],
    )
    for failure in failures:  # not hidden: a crash is a bug even when the rerun succeeds
        print(f"crashed and rerun once: {failure}")


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "--child":
        runner = child_plain if sys.argv[2] == "plain" else child_plkit
        runner(int(sys.argv[3]), sys.argv[4])
    else:
        main()
