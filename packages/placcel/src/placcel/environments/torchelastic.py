"""The torchrun (torchelastic) environment: torchrun started every process and set the ranks.

One node, two processes::

    torchrun --nproc_per_node 2 train.py        # Trainer(devices=2) or devices="auto"

Two nodes::

    torchrun --nnodes 2 --node_rank 0 --nproc_per_node 2 --master_addr node0 train.py
"""

from __future__ import annotations

import os

from placcel.environments._env import env_int
from placcel.environments.cluster_environment import ClusterEnvironment

__all__ = ["TorchElasticEnvironment"]

_REQUIRED = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class TorchElasticEnvironment(ClusterEnvironment):
    """Reads ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``GROUP_RANK``, ``MASTER_ADDR``/``PORT``."""

    @property
    def creates_processes_externally(self) -> bool:
        """Always True: torchrun started the processes."""
        return True

    @property
    def main_address(self) -> str:
        """``MASTER_ADDR``."""
        return os.environ.get("MASTER_ADDR", "127.0.0.1")

    @property
    def main_port(self) -> int:
        """``MASTER_PORT``."""
        return env_int("MASTER_PORT")

    @staticmethod
    def detect() -> bool:
        """``TORCHELASTIC_RUN_ID`` is set, or all of RANK, WORLD_SIZE, LOCAL_RANK, MASTER_*."""
        if "TORCHELASTIC_RUN_ID" in os.environ:
            return True
        return all(name in os.environ for name in _REQUIRED)

    def world_size(self) -> int:
        """``WORLD_SIZE``."""
        return env_int("WORLD_SIZE")

    def set_world_size(self, size: int) -> None:
        """Ignored: torchrun fixed the world size (see :meth:`validate_settings`).

        Args:
            size: the world size computed from the flags.
        """

    def global_rank(self) -> int:
        """``RANK``."""
        return env_int("RANK")

    def set_global_rank(self, rank: int) -> None:
        """Ignored: torchrun fixed the rank.

        Args:
            rank: the rank computed from the flags.
        """

    def local_rank(self) -> int:
        """``LOCAL_RANK``."""
        return env_int("LOCAL_RANK")

    def node_rank(self) -> int:
        """``GROUP_RANK`` (torchrun's node index), else ``NODE_RANK``, else 0."""
        return env_int("GROUP_RANK", env_int("NODE_RANK", 0))

    def local_world_size(self) -> int | None:
        """``LOCAL_WORLD_SIZE`` (torchrun's ``--nproc_per_node``), when set."""
        return env_int("LOCAL_WORLD_SIZE") if "LOCAL_WORLD_SIZE" in os.environ else None

    def validate_settings(self, num_devices: int, num_nodes: int) -> None:
        """``devices * num_nodes`` must equal ``WORLD_SIZE``.

        Args:
            num_devices: devices per node from the flags.
            num_nodes: the ``num_nodes`` flag.
        """
        world_size = self.world_size()
        if num_devices * num_nodes != world_size:
            raise ValueError(
                f"torchrun set WORLD_SIZE={world_size} (LOCAL_WORLD_SIZE="
                f"{os.environ.get('LOCAL_WORLD_SIZE', '?')}) but the flags devices={num_devices} "
                f"x num_nodes={num_nodes} = {num_devices * num_nodes} processes; set devices to "
                "torchrun's --nproc_per_node (or devices='auto') and num_nodes to --nnodes."
            )
