"""Start the other local ranks by re-running the user's script (``python train.py``).

The process the user started becomes local rank 0. For every other local rank it starts
``sys.executable`` with the same arguments (``python -m pkg`` is kept as ``-m pkg``) and the
variables torchrun would set: ``LOCAL_RANK``, ``NODE_RANK``, ``WORLD_SIZE``,
``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``. The children run the script from the
top, reach the same ``Trainer.fit`` and, seeing ``LOCAL_RANK``, run it directly.

Unlike Lightning, a failing rank never leaves the job hanging: the main process watches its
children and ends the whole job when one fails (see ``_watchdog``), and children exit when the
main process disappears.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from placcel.environments.cluster_environment import ClusterEnvironment
from placcel.launchers._watchdog import ChildrenWatchdog
from placcel.launchers.launcher import Launcher

__all__ = [
    "PARENT_PID_VARIABLE",
    "SubprocessScriptLauncher",
    "_SubprocessScriptLauncher",
    "script_command",
]

#: Set in the children to the launching process's pid, so they can exit when it dies.
PARENT_PID_VARIABLE = "PLACCEL_PARENT_PID"


def script_command() -> list[str]:
    """The command that re-runs the current program: ``[python, script, *args]`` or ``-m``."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name and spec.name != "__main__":
        module = spec.name.removesuffix(".__main__")
        return [sys.executable, "-m", module, *sys.argv[1:]]
    script = sys.argv[0] if sys.argv else ""
    if not script or script == "-c" or not os.path.isfile(script):
        raise RuntimeError(
            "strategy='ddp' starts the other ranks by re-running your script, but this process "
            f"was not started from a script file (sys.argv[0]={script!r}, e.g. a notebook or "
            "python -c). Run your code as a script, or use strategy='ddp_spawn' (module-level, "
            "picklable functions) or 'ddp_notebook'."
        )
    return [sys.executable, os.path.abspath(script), *sys.argv[1:]]


class SubprocessScriptLauncher(Launcher):
    """Launch local ranks 1..N-1 as new processes running the same script; run rank 0 here.

    Args:
        cluster_environment: where this process sits (node rank, main address and port).
        num_processes: processes per node (the ``devices`` count).
        num_nodes: the number of nodes.
    """

    def __init__(
        self, cluster_environment: ClusterEnvironment, num_processes: int, num_nodes: int
    ) -> None:
        if num_processes < 1 or num_nodes < 1:
            raise ValueError(
                f"num_processes={num_processes} and num_nodes={num_nodes} must both be >= 1."
            )
        self.cluster_environment = cluster_environment
        self.num_processes = num_processes
        self.num_nodes = num_nodes
        self.procs: dict[int, subprocess.Popen[Any]] = {}
        self.watchdog: ChildrenWatchdog | None = None
        self._started = False

    @property
    def is_interactive_compatible(self) -> bool:
        """False: a notebook has no script to re-run."""
        return False

    def launch(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Start the other local ranks (first call only), then run ``function`` here as rank 0.

        Args:
            function: the work of each process.
            *args: positional arguments for ``function``.
            **kwargs: keyword arguments for ``function``.
        """
        if not self._started and not self.cluster_environment.creates_processes_externally:
            self._start_children()
        self._started = True
        try:
            return function(*args, **kwargs)
        except BaseException as error:
            # The other ranks would wait for this one in their next collective until the
            # timeout; end them now instead.
            if self.watchdog is not None:
                self.watchdog.stop_job(f"rank 0 raised {type(error).__name__}")
            raise

    def _start_children(self) -> None:
        environment = self.cluster_environment
        command = script_command()
        shared = {
            "MASTER_ADDR": environment.main_address,
            "MASTER_PORT": str(environment.main_port),
            "NODE_RANK": str(environment.node_rank()),
            "WORLD_SIZE": str(self.num_processes * self.num_nodes),
            "LOCAL_WORLD_SIZE": str(self.num_processes),
        }
        # Set here too, so later Trainers in this process join the running job, not start another.
        os.environ.update(shared)
        for local_rank in range(1, self.num_processes):
            child_env = {**os.environ, "LOCAL_RANK": str(local_rank)}
            child_env[PARENT_PID_VARIABLE] = str(os.getpid())
            self.procs[local_rank] = subprocess.Popen(command, env=child_env)
        os.environ["LOCAL_RANK"] = "0"
        if self.procs:
            offset = environment.node_rank() * self.num_processes
            self.watchdog = ChildrenWatchdog(self.procs, rank_offset=offset)
            self.watchdog.start()

    def __repr__(self) -> str:
        return (
            f"SubprocessScriptLauncher(num_processes={self.num_processes}, "
            f"num_nodes={self.num_nodes})"
        )


#: Lightning's name for this class.
_SubprocessScriptLauncher = SubprocessScriptLauncher
