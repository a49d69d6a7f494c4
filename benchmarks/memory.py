"""Peak memory (RSS) of a training process under plkit against the plain PyTorch loop.

Run::

    python benchmarks/memory.py            # 2,000 steps, 3 fresh processes per row
    python benchmarks/memory.py --quick    # 100 steps, 1 process per row

Each row is a fresh interpreter that trains an MLP (256 -> 512 -> 512 -> 10, batch 32, Adam,
one torch thread) from a DataLoader over the same in-memory TensorDataset, then reports
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (the peak resident set). The plain process imports
torch only; the plkit ones import plkit too, since its import is part of what it costs. The
"after imports" column is VmRSS once the imports, data and model are in place (before the
optimizer: building the first torch optimizer loads ~70 MB of torch's own modules), so the two
columns separate what loading the framework costs from what training under it adds.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile

import torch
from _common import Row, machine_summary, median, parse_args, print_table, verdict
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

__all__ = ["main"]

TARGET_MB = 30.0
BATCH = 32
BATCHES_PER_EPOCH = 100
KINDS = ("plain", "plkit bare", "plkit defaults + self.log")


def make_net() -> nn.Module:
    return nn.Sequential(
        nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
    )


def make_loader() -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    n = BATCHES_PER_EPOCH * BATCH
    data = TensorDataset(
        torch.randn(n, 256, generator=generator), torch.randint(0, 10, (n,), generator=generator)
    )
    return DataLoader(data, batch_size=BATCH, shuffle=True)


def current_rss_mb() -> float:
    """VmRSS of this process now, in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def train_plain(steps: int) -> float:
    loader = make_loader()
    net = make_net()
    after_imports = current_rss_mb()  # before the optimizer, as on the plkit side
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    done = 0
    while done < steps:
        for x, y in loader:
            optimizer.zero_grad()
            F.cross_entropy(net(x), y).backward()
            optimizer.step()
            done += 1
            if done == steps:
                break
    return after_imports


def train_plkit(steps: int, defaults: bool) -> float:
    import plkit as pl  # imported here: the plain process must not load it

    class Classifier(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = make_net()

        def training_step(
            self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
        ) -> torch.Tensor:
            x, y = batch
            loss = F.cross_entropy(self.net(x), y)
            if defaults:
                self.log("loss", loss)
            return loss

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    loader = make_loader()
    model = Classifier()
    after_imports = current_rss_mb()
    off = dict(enable_progress_bar=False, enable_model_summary=False)
    flags = {} if defaults else dict(logger=False, enable_checkpointing=False, **off)
    with tempfile.TemporaryDirectory() as root:
        trainer = pl.Trainer(accelerator="cpu", max_steps=steps, default_root_dir=root, **flags)
        trainer.fit(model, loader)
    return after_imports


def child(kind: str, steps: int) -> None:
    """Runs in the fresh process: train, then print "after-imports-MB peak-MB"."""
    torch.set_num_threads(1)
    if kind == "plain":
        after_imports = train_plain(steps)
    else:
        after_imports = train_plkit(steps, defaults=kind != "plkit bare")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    print(f"{after_imports:.1f} {peak_mb:.1f}", file=sys.__stdout__)


def run_child(kind: str, steps: int) -> tuple[float, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(steps)],
        capture_output=True,
        text=True,
        check=True,
    )
    after, peak = result.stdout.split()[-2:]
    return float(after), float(peak)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    steps, rounds = (100, 1) if args.quick else (2000, 3)
    rounds = args.rounds or rounds
    results: dict[str, tuple[float, float]] = {}
    for kind in KINDS:
        runs = [run_child(kind, steps) for _ in range(rounds)]
        results[kind] = (median([a for a, _ in runs]), median([p for _, p in runs]))
    base = results["plain"][1]
    rows = []
    for kind, (after, peak) in results.items():
        extra = peak - base
        target = f"<= +{TARGET_MB:.0f}" if kind != "plain" else ""
        result = verdict(extra <= TARGET_MB) if kind != "plain" else ""
        rows.append(Row(kind, (f"{after:.0f}", f"{peak:.0f}", f"{extra:+.1f}", target, result)))
    print_table(
        f"Peak RSS: {steps} steps, MLP 256-512-512-10, batch {BATCH}, Adam; fresh process per "
        f"run, median of {rounds}\n{machine_summary()}",
        ("process", "after imports MB", "peak MB", "vs plain MB", "target MB", "result"),
        rows,
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
