"""The hang detector: a stuck rank ends a multi-process fit with a report, not a 30-minute wait.

Each rank runs a daemon thread that, every few seconds, writes how far its loops have got (a
counter of batches run) to the process group's key-value store; nothing happens per step. Rank
0's thread reads every rank's counter. When no counter has moved for ``PLKIT_HANG_TIMEOUT``
seconds (default 300, well under the 30-minute collective timeout; 0 turns the detector off),
the job is stuck: the rank (or ranks) furthest behind are the ones the others wait for. Rank 0
asks them, through the store, to print their Python stacks (``faulthandler``, from their own
detector thread, so it works while their main thread is stuck), prints which rank is stuck and
at which batch, and exits with status 1; the launcher (or torchrun) then ends the other ranks.

A single step, checkpoint or validation batch that legitimately takes longer than the timeout
would be taken for a hang: raise ``PLKIT_HANG_TIMEOUT`` for such jobs.
"""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plkit._runstate import RunState

__all__ = ["HangDetector", "hang_timeout"]

_BEAT = "plkit/heartbeat/{}"
_DUMP = "plkit/hang/dump"
_WHERE = "plkit/hang/where/{}"
#: One heartbeat counts training batches in this unit, plus the evaluation batches of the pass.
_PER_TRAINING_BATCH = 1_000_003


def hang_timeout() -> float:
    """``PLKIT_HANG_TIMEOUT`` in seconds (default 300; 0: no detector)."""
    value = os.environ.get("PLKIT_HANG_TIMEOUT", "300")
    try:
        timeout = float(value)
    except ValueError:
        raise ValueError(
            f"PLKIT_HANG_TIMEOUT={value!r} is not a number of seconds; set e.g. 300, or 0 to turn"
            " the hang detector off."
        ) from None
    if timeout < 0:
        raise ValueError(f"PLKIT_HANG_TIMEOUT={value!r} must be 0 (off) or a positive number.")
    return timeout


class HangDetector:
    """Heartbeats of one rank during fit, and (rank 0) the watch over all of them.

    Args:
        run: the fit's run state (its progress counters are read, never written).
        store: the process group's key-value store.
        timeout: seconds without progress on any rank before the job is declared stuck.
    """

    def __init__(self, run: RunState, store: Any, timeout: float) -> None:
        self.run = run
        self.store = store
        self.timeout = timeout
        self.interval = max(0.2, min(5.0, timeout / 4))
        self.rank = run.strategy.global_rank
        self.world_size = run.strategy.world_size
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="plkit-hang-detector", daemon=True)
        self._dumped = False

    @classmethod
    def start_for(cls, run: RunState) -> HangDetector | None:
        """Start one for a multi-process fit (None: one process, no store, or turned off)."""
        from plkit._preemption import _default_store

        timeout = hang_timeout()
        if run.strategy.world_size < 2 or not timeout:
            return None
        store = _default_store()
        if store is None:
            return None
        detector = cls(run, store, timeout)
        detector._thread.start()
        return detector

    def stop(self) -> None:
        self._stop.set()

    def _progress(self) -> int:
        run = self.run
        return run.progress.total_batch_idx * _PER_TRAINING_BATCH + run.eval_progress.batches_done

    def _loop(self) -> None:
        last: dict[int, str] = {}
        moved = time.monotonic()
        while not self._stop.wait(self.interval):
            try:
                self.store.set(_BEAT.format(self.rank), str(self._progress()))
                self._maybe_dump()
                if self.rank != 0:
                    continue
                beats = self._beats()
                if beats != last:
                    last, moved = beats, time.monotonic()
                elif time.monotonic() - moved > self.timeout:
                    self._report(beats)
            except Exception:  # the store is gone: the job is ending anyway
                return

    def _beats(self) -> dict[int, str]:
        keys = [_BEAT.format(rank) for rank in range(self.world_size)]
        if not self.store.check(keys):
            return {}
        return {rank: self.store.get(key).decode() for rank, key in enumerate(keys)}

    def _maybe_dump(self) -> None:
        """When rank 0 asks: print this process's stacks and post where its main thread is."""
        if self._dumped or not self.store.check([_DUMP]):
            return
        self._dumped = True
        where, waiting = _main_thread_position()
        self.store.set(_WHERE.format(self.rank), ("waiting " if waiting else "running ") + where)
        sys.stderr.write(f"plkit: rank {self.rank}'s threads (hang detector):\n")
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        sys.stderr.flush()

    def _report(self, beats: dict[int, str]) -> None:
        self.store.set(_DUMP, "all")
        self._maybe_dump()
        keys = [_WHERE.format(rank) for rank in range(self.world_size)]
        deadline = time.monotonic() + max(3.0, 3 * self.interval)
        while not self.store.check(keys) and time.monotonic() < deadline:
            time.sleep(0.1)  # let every rank print its stacks and say where it is
        where = {
            rank: self.store.get(key).decode() if self.store.check([key]) else "waiting (silent)"
            for rank, key in enumerate(keys)
        }
        counts = {rank: int(value) for rank, value in beats.items()}
        # The stuck ranks: furthest behind, and in code of their own rather than waiting in torch
        # (a collective, backward) for the others.
        lowest = min(counts.values())
        behind = [rank for rank, count in counts.items() if count == lowest]
        stuck = [rank for rank in behind if where[rank].startswith("running")] or behind
        lines = "\n".join(
            f"  rank {rank}: training batch {counts[rank] // _PER_TRAINING_BATCH}, {where[rank]}"
            for rank in sorted(counts)
        )
        names = ", ".join(f"rank {r}" for r in stuck)
        sys.stderr.write(
            f"plkit: no rank has made progress for {self.timeout:g} s (PLKIT_HANG_TIMEOUT): {names}"
            f" is stuck; the others wait for it (stacks above).\n{lines}\nEnding the job.\n"
        )
        sys.stderr.flush()
        os._exit(1)


def _main_thread_position() -> tuple[str, bool]:
    """``file:line in function`` of the main thread's innermost frame, and whether that frame
    is torch's (waiting in a collective or in backward) rather than the user's or plkit's."""
    main = threading.main_thread().ident
    frame = sys._current_frames().get(main) if main is not None else None
    if frame is None:
        return "(main thread not found)", False
    code = frame.f_code
    in_torch = f"{os.sep}torch{os.sep}" in code.co_filename
    return f"{code.co_filename}:{frame.f_lineno} in {code.co_name}", in_torch
