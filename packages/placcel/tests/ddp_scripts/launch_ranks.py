"""Started as a subprocess by the launcher tests: build a strategy from flags, run every rank.

Each rank writes ``rank<global rank>.json`` (and ``run2-rank<N>.json`` for a second strategy
built in the same script, as a second ``Trainer.fit`` would) into ``--out``.

Modes: ``ok``; ``raise`` (rank 1 raises, rank 0 sleeps: only the watchdog can end the job);
``kill`` (rank 1 SIGKILLs itself, rank 0 sleeps); ``sleep`` (every rank writes its pid, then
sleeps: for signal tests).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

import torch

from placcel import Strategy, build_strategy


def work(strategy: Strategy, out: str, mode: str, tag: str) -> int:
    strategy.setup_environment()
    rank = strategy.global_rank
    if mode == "sleep":
        _write(out, f"pid-rank{rank}.json", {"pid": os.getpid()})
        time.sleep(120)
    if mode == "raise" and rank == 1:
        raise ValueError("boom from rank 1")
    if mode == "kill" and rank == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    if mode in ("raise", "kill") and rank == 0:
        time.sleep(120)
    total = strategy.reduce(torch.tensor(float(rank + 1)), "sum")
    gathered = strategy.all_gather(torch.tensor([rank]))
    record = {
        "rank": rank,
        "world_size": strategy.world_size,
        "local_rank": strategy.local_rank,
        "node_rank": strategy.node_rank,
        "environment": type(strategy.cluster_environment).__name__,
        "strategy": type(strategy).__name__,
        "has_launcher": strategy.launcher is not None,
        "sum": total.item(),
        "gathered": gathered.flatten().tolist(),
        "sampler": strategy.distributed_sampler_kwargs,
        "pid": os.getpid(),
    }
    _write(out, f"{tag}rank{rank}.json", record)
    strategy.barrier()
    strategy.teardown()
    return rank


def _write(out: str, name: str, record: dict) -> None:
    with open(os.path.join(out, name), "w") as handle:
        json.dump(record, handle)


def run(args: argparse.Namespace, tag: str) -> int:
    devices = args.devices if args.devices == "auto" else int(args.devices)
    strategy = build_strategy(
        accelerator="cpu", strategy=args.strategy, devices=devices, num_nodes=args.num_nodes
    )
    if strategy.launcher is not None:
        return strategy.launcher.launch(work, strategy, args.out, args.mode, tag)
    return work(strategy, args.out, args.mode, tag)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--devices", default="2")
    parser.add_argument("--num-nodes", type=int, default=1)
    parser.add_argument("--strategy", default="ddp")
    parser.add_argument("--mode", default="ok")
    parser.add_argument("--twice", action="store_true")
    args = parser.parse_args()
    result = run(args, "")
    if args.twice:
        run(args, "run2-")
    print(f"done rank result {result}", file=sys.stderr)


if __name__ == "__main__":
    main()
