"""Preemption: SIGTERM (and SLURM's SIGUSR1) ends a fit cleanly, with a checkpoint to resume from.

The signal handler only records the signal. The training loop looks at that flag after each
batch (one attribute read); when it is set, the current step is finished, ``hpc_ckpt_N.ckpt`` is
written to ``default_root_dir``, the loggers are finalized and the process exits with
``128 + signal``. The next ``fit`` of the same script finds that file and resumes exactly.

With several processes every rank receives the signal (the launcher, torchrun and SLURM all
deliver it to each rank), but not at the same step. Instead of a collective on every step (what
Lightning does), a rank that has the signal writes its progress to the process group's key-value
store and keeps training; once every rank has written, all agree to stop after the same
optimizer step: one past the furthest rank. Ranks can be at most one optimizer step apart (each
step's gradient all-reduce holds them together), so every rank can still reach that step.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Any

import torch

from plcore.utilities import cloud_io

if TYPE_CHECKING:
    from plkit._runstate import RunState
    from plkit.trainer import Trainer

__all__ = [
    "Preempted",
    "Preemption",
    "hpc_checkpoint_path",
    "hpc_run_of",
    "newest_hpc_checkpoint",
    "retire_hpc_checkpoints",
    "run_identity",
]

_KEY = "plkit/preempt/{}"
#: The checkpoint key that names the run a preemption checkpoint belongs to.
RUN_KEY = "plkit_preempted_run"


def run_identity() -> str:
    """Which run this process belongs to, as a requeue or a rerun sees it again.

    In order: ``PLKIT_RUN_ID`` (set it to hand a run over explicitly), SLURM's job (its array job
    and task when an array), torchelastic's run id, else the command itself (the script's path
    and its arguments): rerunning the same command continues the run, a different script or
    different arguments is a different run.
    """
    env = os.environ
    if env.get("PLKIT_RUN_ID"):
        return f"run:{env['PLKIT_RUN_ID']}"
    if env.get("SLURM_ARRAY_JOB_ID") and env.get("SLURM_ARRAY_TASK_ID"):
        return f"slurm:{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}"
    if env.get("SLURM_JOB_ID"):
        return f"slurm:{env['SLURM_JOB_ID']}"
    elastic = env.get("TORCHELASTIC_RUN_ID")
    if elastic and elastic != "none":
        return f"torchelastic:{elastic}"
    script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    digest = hashlib.sha256(json.dumps([script, sys.argv[1:]]).encode()).hexdigest()[:16]
    return f"command:{digest}"


def hpc_run_of(path: str) -> str | None:
    """The run a preemption checkpoint was written by (None: not recorded, e.g. an older file).
    The file is memory-mapped, so only the small entry is read."""
    try:
        if cloud_io.is_remote(path):  # no memory-mapping over the network: read it whole
            source: Any = io.BytesIO(cloud_io.read_bytes(path))
            checkpoint = torch.load(source, map_location="cpu", weights_only=True)
        else:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # unreadable here: the resume itself reports it when asked for
        return None
    owner = checkpoint.get(RUN_KEY) if isinstance(checkpoint, dict) else None
    return owner if isinstance(owner, str) else None


def _hpc_checkpoints(root: str) -> list[tuple[int, str]]:
    found = []
    for path in cloud_io.glob(os.path.join(root, "hpc_ckpt_*.ckpt")):
        match = re.fullmatch(r"hpc_ckpt_(\d+)\.ckpt", os.path.basename(path))
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def retire_hpc_checkpoints(root: str, owner: str, keep: str | None = None) -> list[str]:
    """Delete the preemption checkpoints ``owner`` wrote in ``root`` (except ``keep``): once a
    run has moved past them (a newer one written, or the resumed fit finished) they must not
    resume anything again. Returns the removed paths."""
    removed = []
    for _, path in _hpc_checkpoints(root):
        if path != keep and hpc_run_of(path) == owner:
            cloud_io.remove(path)
            removed.append(path)
    return removed


def newest_hpc_checkpoint(root: str) -> str | None:
    """The ``hpc_ckpt_N.ckpt`` with the highest N in ``root``, if any."""
    found = _hpc_checkpoints(root)
    return found[-1][1] if found else None


def hpc_checkpoint_path(root: str) -> str:
    newest = newest_hpc_checkpoint(root)
    number = 1 if newest is None else int(re.findall(r"\d+", os.path.basename(newest))[-1]) + 1
    return os.path.join(root, f"hpc_ckpt_{number}.ckpt")


class Preemption:
    """Installs the signal handlers for one fit and decides when to stop."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}
        self._posted: set[str] = set()  # the agreements this rank has posted its progress to
        self._targets: dict[str, int] = {}  # agreed stopping points, per agreement
        self._eval_passes = 0  # evaluation passes begun (the same count on every rank)
        self._watchdog: threading.Timer | None = None

    @staticmethod
    def grace_period() -> float:
        """Seconds from the signal to the end of the process at the latest
        (``PLKIT_PREEMPTION_GRACE``, default 30): schedulers send SIGKILL after theirs."""
        value = os.environ.get("PLKIT_PREEMPTION_GRACE", "30")
        try:
            grace = float(value)
        except ValueError:
            raise ValueError(
                f"PLKIT_PREEMPTION_GRACE={value!r} is not a number of seconds; set it to the"
                " scheduler's grace period, e.g. 30."
            ) from None
        if grace <= 0:
            raise ValueError(
                f"PLKIT_PREEMPTION_GRACE={value!r} must be a positive number of seconds."
            )
        return grace

    @staticmethod
    def _signals() -> list[int]:
        signals: list[int] = [signal.SIGTERM]
        if "SLURM_JOB_ID" in os.environ and hasattr(signal, "SIGUSR1"):
            signals.append(signal.SIGUSR1)
        return signals

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        self.grace_period()  # a bad value fails now, not when the signal arrives
        for signum in self._signals():
            self._previous[signum] = signal.signal(signum, self._on_signal)

    def uninstall(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()
        if self._watchdog is not None:  # the run ended (or saved and is leaving) in time
            self._watchdog.cancel()
            self._watchdog = None

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.received = signum  # the loops act on it between batches
        if self._watchdog is None:
            # A step or a hook that never returns would outlast the grace period and be killed
            # without a word: leave on our own, a little before the scheduler's SIGKILL.
            self._watchdog = threading.Timer(
                0.9 * self.grace_period(), _give_up, args=(signum, self.grace_period())
            )
            self._watchdog.daemon = True
            self._watchdog.start()

    # --- in the loop --------------------------------------------------------------------------
    def should_stop(self, run: RunState) -> bool:
        """Whether to stop training after this batch (called only once a signal arrived)."""
        return self._agreed(run, "train", run.progress.batches_that_stepped)

    def begin_eval_pass(self) -> None:
        """An evaluation or prediction pass starts (its stop is agreed separately)."""
        self._eval_passes += 1

    def should_stop_eval(self, run: RunState, batches_done: int) -> bool:
        """Whether to abandon the evaluation pass after this batch (once a signal arrived)."""
        return self._agreed(run, f"eval{self._eval_passes}", batches_done)

    def _agreed(self, run: RunState, what: str, done: int) -> bool:
        """One process stops at once; several agree through the store to stop after the same
        batch: one past the furthest rank, once every rank has the signal (no collective)."""
        strategy = run.strategy
        if strategy.world_size == 1:
            return True
        store = _default_store()
        if store is None:
            return True
        key = _KEY + "/" + what
        if what not in self._posted:
            store.set(key.format(strategy.global_rank), str(done))
            self._posted.add(what)
        if what not in self._targets:
            keys = [key.format(rank) for rank in range(strategy.world_size)]
            if not store.check(keys):
                return False  # not every rank has the signal yet: keep going
            self._targets[what] = max(int(store.get(k)) for k in keys) + 1
        return done >= self._targets[what]

    def stop(self, run: RunState) -> None:
        """Write the preemption checkpoint (every rank calls; rank 0 writes)."""
        from plkit._checkpointing import dump_checkpoint

        trainer, strategy = run.trainer, run.strategy
        root = trainer.default_root_dir
        path = strategy.broadcast(hpc_checkpoint_path(root), src=0)
        checkpoint = dump_checkpoint(run, weights_only=False)
        owner = run_identity()
        checkpoint[RUN_KEY] = owner  # only this run resumes from it (see select_ckpt_path)
        strategy.save_checkpoint(checkpoint, path)
        strategy.barrier("preemption checkpoint")
        if trainer.is_global_zero:
            retire_hpc_checkpoints(root, owner, keep=path)  # the run has moved past them
            print(
                f"plkit: received signal {self.received}; saved {path} to resume from.", flush=True
            )
        if self.received == getattr(signal, "SIGUSR1", None):
            _requeue_on_slurm(trainer)


class Preempted(Exception):
    """Raised by an evaluation or prediction loop that stops for a preemption signal; the fit
    loop (or the entry point) catches it and leaves as after a preempted training batch."""


def _give_up(signum: int, grace: float) -> None:
    """The watchdog: the process is still running near the end of the grace period."""
    import faulthandler

    sys.stderr.write(
        f"plkit: still running {0.9 * grace:.0f} s after signal {signum}, near the end of the"
        f" grace period (PLKIT_PREEMPTION_GRACE={grace:g} s); exiting now without a checkpoint."
        " Where each thread was:\n"
    )
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    sys.stderr.flush()
    os._exit(128 + signum)


def _default_store() -> Any:
    try:
        from torch.distributed import distributed_c10d

        return distributed_c10d._get_default_store()
    except Exception:  # no process group, or a torch without this helper
        return None


def _requeue_on_slurm(trainer: Trainer) -> None:
    """SLURM's SIGUSR1 means "time is nearly up": requeue the job (rank 0), as Lightning does."""
    job_id = os.environ.get("SLURM_JOB_ID")
    auto = os.environ.get("PLKIT_SLURM_AUTO_REQUEUE", "1") != "0"
    if not (trainer.is_global_zero and job_id and auto and shutil.which("scontrol")):
        return
    array_job, array_task = (
        os.environ.get("SLURM_ARRAY_JOB_ID"),
        os.environ.get("SLURM_ARRAY_TASK_ID"),
    )
    target = f"{array_job}_{array_task}" if array_job and array_task else job_id
    subprocess.run(["scontrol", "requeue", target], check=False)
