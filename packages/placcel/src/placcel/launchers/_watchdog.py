"""Keep a job of local processes from hanging when one of them dies.

The main process watches the processes it started from a daemon thread. When one exits with a
non-zero code, the main process says which rank failed, terminates the others and then ends
itself: first by interrupting its main thread (so ``finally`` blocks and loggers run), then with
``os._exit`` if it is still alive after a grace period. Children watch their parent the same way
and exit when it disappears.

SIGTERM sent to the main process is forwarded to the children. Python runs signal handlers only
when the main thread executes bytecode, which it does not while blocked in C code (waiting for a
process group to form, in a collective); so the watchdog thread also learns of SIGTERM through
``signal.set_wakeup_fd``, which the interpreter writes to the moment the signal arrives.
"""

from __future__ import annotations

import _thread
import atexit
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["ChildrenWatchdog", "terminate_processes", "watch_parent"]

_POLL_SECONDS = 0.2
_TERMINATE_SECONDS = 5.0
_EXIT_GRACE_SECONDS = 5.0
_SIGTERM_GRACE_SECONDS = 2.0


def _say(message: str) -> None:
    print(f"[placcel] {message}", file=sys.stderr, flush=True)


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _hard_exit(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


def terminate_processes(
    procs: list[subprocess.Popen[Any]], timeout: float = _TERMINATE_SECONDS
) -> None:
    """SIGTERM every live process, then SIGKILL those still alive after ``timeout`` seconds.

    Args:
        procs: the processes to end.
        timeout: how long to wait for a clean exit.
    """
    live = [proc for proc in procs if proc.poll() is None]
    for proc in live:
        proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in live:
        try:
            proc.wait(max(deadline - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class ChildrenWatchdog:
    """Watch the local ranks this process started; end the whole job if one fails.

    Args:
        procs: local rank → process, for the ranks started by this process.
        rank_offset: added to a local rank to name its global rank in messages.
    """

    def __init__(self, procs: dict[int, subprocess.Popen[Any]], rank_offset: int = 0) -> None:
        self.procs = procs
        self.rank_offset = rank_offset
        self.failed = False
        self._lock = threading.Lock()
        self._previous_excepthook: Callable[..., Any] = sys.excepthook
        self._previous_sigterm: Any = None
        self._signal_reader: socket.socket | None = None

    def start(self) -> None:
        """Start watching; also end the children on an uncaught error, SIGTERM and at exit."""
        if threading.current_thread() is threading.main_thread():
            self._install_sigterm()
        self._previous_excepthook = sys.excepthook
        sys.excepthook = self._excepthook
        atexit.register(self._at_exit)
        threading.Thread(target=self._watch, name="placcel-watchdog", daemon=True).start()

    def stop_job(self, reason: str) -> None:
        """Terminate every child (once) and remember that the job failed.

        Args:
            reason: printed to stderr, e.g. which rank failed.
        """
        with self._lock:
            if self.failed:
                return
            self.failed = True
        _say(f"{reason}; terminating the other ranks of this job.")
        terminate_processes(list(self.procs.values()))

    # -- the watching thread -------------------------------------------------------------------

    def _watch(self) -> None:
        while not self.failed:
            if self._sigterm_arrived(_POLL_SECONDS) and self._end_on_sigterm():
                return
            codes = {rank: proc.poll() for rank, proc in self.procs.items()}
            failures = {rank: code for rank, code in codes.items() if code not in (None, 0)}
            if failures and not self.failed:
                rank, code = min(failures.items())
                pid = self.procs[rank].pid
                self.stop_job(
                    f"rank {rank + self.rank_offset} (local rank {rank}, pid {pid}) {_describe(code)}"
                )
                self._end_main_process()
                return
            if all(code == 0 for code in codes.values()):
                return

    def _sigterm_arrived(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the wakeup fd; True if it reported SIGTERM."""
        if self._signal_reader is None:
            time.sleep(timeout)
            return False
        ready, _, _ = select.select([self._signal_reader], [], [], timeout)
        if not ready:
            return False
        try:
            data = self._signal_reader.recv(64)
        except BlockingIOError:
            return False
        return int(signal.SIGTERM) in data

    def _end_on_sigterm(self) -> bool:
        """Forward SIGTERM; end the process unless an earlier handler wants to handle it."""
        self._forward(signal.SIGTERM)
        if callable(self._previous_sigterm):
            return False  # a graceful handler (e.g. the Trainer's) decides when to stop
        # The main thread's handler ends the process if it gets to run; if it is stuck in C
        # code, end it from here.
        time.sleep(_SIGTERM_GRACE_SECONDS)
        _say("SIGTERM received while the main thread was blocked; exiting.")
        _hard_exit(128 + int(signal.SIGTERM))

    def _end_main_process(self) -> None:
        # Let the main thread unwind (its finally blocks, logger flushes) if it can: a real
        # SIGINT also wakes it from sleeps and blocking I/O. A thread blocked in C code (a
        # collective) may never see it, hence the hard exit after a grace period.
        try:
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        except (AttributeError, OSError, ValueError):
            _thread.interrupt_main()
        time.sleep(_EXIT_GRACE_SECONDS)
        _say("the main process did not stop in time after a rank failed; exiting.")
        _hard_exit(1)

    # -- hooks in the main thread --------------------------------------------------------------

    def _install_sigterm(self) -> None:
        self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        if previous_fd != -1:
            # Someone (an event loop) already listens; keep theirs and rely on the handler.
            signal.set_wakeup_fd(previous_fd)
            reader.close()
            writer.close()
            return
        self._signal_reader = reader
        self._signal_writer = writer  # keep it open for the process's lifetime

    def _forward(self, signum: int) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signum)

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        self._forward(signum)
        previous = self._previous_sigterm
        signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        if callable(previous):
            previous(signum, frame)
        elif previous in (signal.SIG_DFL, None):
            os.kill(os.getpid(), signum)

    def _excepthook(self, kind: type[BaseException], value: BaseException, tb: Any) -> None:
        self._previous_excepthook(kind, value, tb)
        self.stop_job(f"rank {self.rank_offset} (this process) raised {kind.__name__}")

    def _at_exit(self) -> None:
        # The children run the same script and normally finish right after this process.
        for proc in self.procs.values():
            proc.wait()
        if self.failed or any(proc.returncode != 0 for proc in self.procs.values()):
            if not self.failed:
                _say("a rank ended with an error; exiting with an error too.")
            _hard_exit(1)


def watch_parent(parent_pid: int, rank: int) -> None:
    """In a child: exit as soon as the process that started it is gone.

    Args:
        parent_pid: the pid of the launching process.
        rank: this process's global rank, for the message.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_POLL_SECONDS * 2)
        _say(f"rank {rank}: the launching process (pid {parent_pid}) is gone; exiting.")
        _hard_exit(1)

    threading.Thread(target=watch, name="placcel-parent-watch", daemon=True).start()
