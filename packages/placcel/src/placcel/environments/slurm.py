"""The SLURM environment: ``srun`` started every process (one task per device).

Example batch script for 2 nodes with 4 GPUs each::

    #SBATCH --nodes=2
    #SBATCH --ntasks-per-node=4
    srun python train.py                 # Trainer(devices=4, num_nodes=2)
"""

from __future__ import annotations

import os
import re

from placcel.environments._env import env_int
from placcel.environments.cluster_environment import ClusterEnvironment

__all__ = ["SLURMEnvironment", "expand_nodelist"]

# Jobs named like this are interactive shells (salloc/srun --pty bash), not batch tasks.
_INTERACTIVE_JOB_NAMES = ("bash", "interactive")


class SLURMEnvironment(ClusterEnvironment):
    """Reads ``SLURM_NTASKS``, ``SLURM_PROCID``, ``SLURM_LOCALID``, ``SLURM_NODEID``, the node list.

    The main address is the first host of ``SLURM_NODELIST`` (compressed lists such as
    ``node[1-3,5]`` are expanded); the port is ``MASTER_PORT`` or derived from the job id, so
    every task of a job agrees without talking to each other.
    """

    @property
    def creates_processes_externally(self) -> bool:
        """Always True: srun started the processes."""
        return True

    @property
    def main_address(self) -> str:
        """The first host of ``SLURM_NODELIST`` (``SLURM_JOB_NODELIST``), else ``127.0.0.1``."""
        nodelist = os.environ.get("SLURM_NODELIST") or os.environ.get("SLURM_JOB_NODELIST")
        if not nodelist:
            return "127.0.0.1"
        return expand_nodelist(nodelist)[0]

    @property
    def main_port(self) -> int:
        """``MASTER_PORT``, else 15000 + the last four digits of ``SLURM_JOB_ID``."""
        if os.environ.get("MASTER_PORT"):
            return env_int("MASTER_PORT")
        job_id = os.environ.get("SLURM_JOB_ID", "")
        digits = re.sub(r"\D", "", job_id)[-4:]
        return 15000 + int(digits or 0)

    @staticmethod
    def detect() -> bool:
        """``SLURM_NTASKS`` is set and the job is not an interactive shell."""
        name = os.environ.get("SLURM_JOB_NAME", "")
        return "SLURM_NTASKS" in os.environ and name not in _INTERACTIVE_JOB_NAMES

    def world_size(self) -> int:
        """``SLURM_NTASKS``."""
        return env_int("SLURM_NTASKS")

    def set_world_size(self, size: int) -> None:
        """Ignored: SLURM fixed the world size.

        Args:
            size: the world size computed from the flags.
        """

    def global_rank(self) -> int:
        """``SLURM_PROCID``."""
        return env_int("SLURM_PROCID")

    def set_global_rank(self, rank: int) -> None:
        """Ignored: SLURM fixed the rank.

        Args:
            rank: the rank computed from the flags.
        """

    def local_rank(self) -> int:
        """``SLURM_LOCALID``."""
        return env_int("SLURM_LOCALID")

    def node_rank(self) -> int:
        """``SLURM_NODEID``."""
        return env_int("SLURM_NODEID", 0)

    def local_world_size(self) -> int | None:
        """Tasks per node: ``SLURM_NTASKS_PER_NODE``, else ``SLURM_NTASKS / SLURM_NNODES``."""
        per_node = os.environ.get("SLURM_NTASKS_PER_NODE", "")
        match = re.match(r"\d+", per_node)  # may read "4(x2)" on heterogeneous jobs
        if match:
            return int(match.group())
        return self.world_size() // max(env_int("SLURM_NNODES", 1), 1)

    def validate_settings(self, num_devices: int, num_nodes: int) -> None:
        """``devices * num_nodes`` must equal ``SLURM_NTASKS``; ``num_nodes``, ``SLURM_NNODES``.

        Args:
            num_devices: devices per node from the flags.
            num_nodes: the ``num_nodes`` flag.
        """
        ntasks = self.world_size()
        if num_devices * num_nodes != ntasks:
            raise ValueError(
                f"SLURM set SLURM_NTASKS={ntasks} (SLURM_NTASKS_PER_NODE="
                f"{os.environ.get('SLURM_NTASKS_PER_NODE', '?')}) but the flags "
                f"devices={num_devices} x num_nodes={num_nodes} = {num_devices * num_nodes} "
                "processes; set devices to --ntasks-per-node and num_nodes to --nodes."
            )
        if "SLURM_NNODES" in os.environ and env_int("SLURM_NNODES") != num_nodes:
            raise ValueError(
                f"SLURM set SLURM_NNODES={os.environ['SLURM_NNODES']} but the flag "
                f"num_nodes={num_nodes}; set num_nodes={os.environ['SLURM_NNODES']}."
            )


def _split_top_level(nodelist: str) -> list[str]:
    """Split on commas that are not inside brackets: ``a[1,2],b`` → ``["a[1,2]", "b"]``."""
    parts, depth, current = [], 0, []
    for char in nodelist:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def _expand_range(spec: str) -> list[str]:
    """``"1-3,05"`` → ``["1", "2", "3", "05"]``, keeping zero padding (``"01-03"``)."""
    values = []
    for item in spec.split(","):
        if "-" in item:
            low, high = item.split("-", 1)
            values += [str(n).zfill(len(low)) for n in range(int(low), int(high) + 1)]
        else:
            values.append(item)
    return values


def _expand_host(pattern: str) -> list[str]:
    match = re.search(r"\[([^\]]*)\]", pattern)
    if match is None:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [
        head + value + rest
        for value in _expand_range(match.group(1))
        for rest in _expand_host(tail)
    ]


def expand_nodelist(nodelist: str) -> list[str]:
    """Expand a SLURM node list: ``"node[1-3,5],gpu07"`` → ``node1 node2 node3 node5 gpu07``.

    Args:
        nodelist: the value of ``SLURM_NODELIST``.
    """
    hosts = [host for part in _split_top_level(nodelist) for host in _expand_host(part)]
    if not hosts:
        raise ValueError(f"SLURM_NODELIST={nodelist!r} names no host.")
    return hosts
