"""The local environment: plkit starts the processes itself (``python train.py``).

One node::

    python train.py                       # Trainer(devices=2) starts local rank 1 itself

Two nodes (same MASTER_ADDR and MASTER_PORT on both, one NODE_RANK each)::

    MASTER_ADDR=node0 MASTER_PORT=29500 NODE_RANK=0 python train.py   # on node0
    MASTER_ADDR=node0 MASTER_PORT=29500 NODE_RANK=1 python train.py   # on node1
"""

from __future__ import annotations

import os

from placcel._ports import find_free_port
from placcel.environments._env import env_int
from placcel.environments.cluster_environment import ClusterEnvironment

__all__ = ["LightningEnvironment"]


class LightningEnvironment(ClusterEnvironment):
    """The default environment: local processes started by plkit's own launcher.

    Reads ``MASTER_ADDR`` (default ``127.0.0.1``), ``MASTER_PORT`` (default: a free port, picked
    once), ``NODE_RANK`` (default 0) and ``LOCAL_RANK``, which the launcher sets in the processes
    it starts; its presence means "this process was started for us".
    """

    def __init__(self) -> None:
        self._main_port: int | None = None
        self._world_size = 1
        self._global_rank = 0

    @property
    def creates_processes_externally(self) -> bool:
        """True in processes the launcher started (``LOCAL_RANK`` is set)."""
        return "LOCAL_RANK" in os.environ

    @property
    def main_address(self) -> str:
        """``MASTER_ADDR``, or ``127.0.0.1`` on a single machine."""
        return os.environ.get("MASTER_ADDR", "127.0.0.1")

    @property
    def main_port(self) -> int:
        """``MASTER_PORT``, or a free port chosen the first time it is asked for."""
        if self._main_port is None:
            self._main_port = env_int("MASTER_PORT", 0) or find_free_port()
        return self._main_port

    @staticmethod
    def detect() -> bool:
        """Always True: this is the fallback environment."""
        return True

    def world_size(self) -> int:
        """The world size recorded by :meth:`set_world_size`."""
        return self._world_size

    def set_world_size(self, size: int) -> None:
        """Record ``devices * num_nodes``.

        Args:
            size: the world size.
        """
        self._world_size = size

    def global_rank(self) -> int:
        """The global rank recorded by :meth:`set_global_rank`."""
        return self._global_rank

    def set_global_rank(self, rank: int) -> None:
        """Record ``node_rank * devices + local_rank``.

        Args:
            rank: the global rank.
        """
        self._global_rank = rank

    def local_rank(self) -> int:
        """``LOCAL_RANK`` (0 in the process the user started)."""
        return env_int("LOCAL_RANK", 0)

    def node_rank(self) -> int:
        """``NODE_RANK`` (or ``GROUP_RANK``), 0 when unset."""
        return env_int("NODE_RANK", env_int("GROUP_RANK", 0))

    def validate_settings(self, num_devices: int, num_nodes: int) -> None:
        """Check ``WORLD_SIZE``/``LOCAL_RANK``/``NODE_RANK`` and ``MASTER_PORT`` for multi-node.

        Args:
            num_devices: devices per node from the flags.
            num_nodes: the ``num_nodes`` flag.
        """
        expected = num_devices * num_nodes
        if "WORLD_SIZE" in os.environ and env_int("WORLD_SIZE") != expected:
            raise ValueError(
                f"environment variable WORLD_SIZE={os.environ['WORLD_SIZE']} disagrees with the "
                f"flags devices={num_devices} x num_nodes={num_nodes} = {expected} processes; "
                "change the flags or unset WORLD_SIZE."
            )
        _check_below("LOCAL_RANK", self.local_rank(), num_devices, "devices")
        _check_below("NODE_RANK", self.node_rank(), num_nodes, "num_nodes")
        if num_nodes > 1 and not os.environ.get("MASTER_PORT"):
            raise ValueError(
                f"num_nodes={num_nodes} needs MASTER_ADDR and MASTER_PORT set to the same values "
                "on every node (e.g. MASTER_ADDR=<host of node 0> MASTER_PORT=29500), and "
                "NODE_RANK=0..num_nodes-1, one per node."
            )


def _check_below(variable: str, value: int, limit: int, flag: str) -> None:
    if not 0 <= value < limit:
        raise ValueError(
            f"environment variable {variable}={value} is out of range for the flag "
            f"{flag}={limit} (it must be 0..{limit - 1}); change {flag} or {variable}."
        )
