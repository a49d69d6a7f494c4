"""The ClusterEnvironment interface: where this process sits in the job (ranks, main address).

An environment reads what the launcher of the job (plkit itself, torchrun, SLURM) told the
process, usually through environment variables. It is read lazily, never at import.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

__all__ = ["ClusterEnvironment"]


class ClusterEnvironment(ABC):
    """Base class of the cluster environments (local, torchelastic, SLURM)."""

    @property
    @abstractmethod
    def creates_processes_externally(self) -> bool:
        """Whether the processes already exist (started by torchrun, srun or plkit's launcher)."""

    @property
    @abstractmethod
    def main_address(self) -> str:
        """The host of global rank 0, where the process group's store listens."""

    @property
    @abstractmethod
    def main_port(self) -> int:
        """The port of the process group's store on :attr:`main_address`."""

    @staticmethod
    @abstractmethod
    def detect() -> bool:
        """Whether the current process runs under this environment."""

    @abstractmethod
    def world_size(self) -> int:
        """The total number of processes in the job."""

    @abstractmethod
    def set_world_size(self, size: int) -> None:
        """Record the world size computed from the flags (ignored where the job fixes it).

        Args:
            size: ``devices * num_nodes``.
        """

    @abstractmethod
    def global_rank(self) -> int:
        """This process's rank among all processes of the job."""

    @abstractmethod
    def set_global_rank(self, rank: int) -> None:
        """Record the global rank computed from the flags (ignored where the job fixes it).

        Args:
            rank: ``node_rank * devices + local_rank``.
        """

    @abstractmethod
    def local_rank(self) -> int:
        """This process's rank among the processes of its node."""

    @abstractmethod
    def node_rank(self) -> int:
        """The index of this process's node."""

    def local_world_size(self) -> int | None:
        """How many processes the job runs per node, when the environment says (else ``None``).

        ``devices="auto"`` follows this under torchrun and SLURM.
        """
        return None

    def validate_settings(self, num_devices: int, num_nodes: int) -> None:
        """Raise ``ValueError`` when the flags disagree with what the environment says.

        Args:
            num_devices: the number of devices (processes) per node from the flags.
            num_nodes: the ``num_nodes`` flag.
        """
        return None

    def teardown(self) -> None:
        """Undo changes made to the process environment (none by default)."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
