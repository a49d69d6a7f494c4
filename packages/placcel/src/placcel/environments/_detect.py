"""Pick the cluster environment the current process runs under."""

from __future__ import annotations

from placcel.environments.cluster_environment import ClusterEnvironment
from placcel.environments.lightning import LightningEnvironment
from placcel.environments.slurm import SLURMEnvironment
from placcel.environments.torchelastic import TorchElasticEnvironment

__all__ = ["detect_cluster_environment"]


def detect_cluster_environment() -> ClusterEnvironment:
    """torchrun first (its variables are explicit), then SLURM, else the local environment."""
    for environment in (TorchElasticEnvironment, SLURMEnvironment):
        if environment.detect():
            return environment()
    return LightningEnvironment()
