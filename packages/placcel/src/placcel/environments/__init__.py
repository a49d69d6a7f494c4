"""Cluster environments: local (plkit starts the processes), torchrun, SLURM."""

from placcel.environments._detect import detect_cluster_environment
from placcel.environments.cluster_environment import ClusterEnvironment
from placcel.environments.lightning import LightningEnvironment
from placcel.environments.slurm import SLURMEnvironment, expand_nodelist
from placcel.environments.torchelastic import TorchElasticEnvironment

__all__ = [
    "ClusterEnvironment",
    "LightningEnvironment",
    "SLURMEnvironment",
    "TorchElasticEnvironment",
    "detect_cluster_environment",
    "expand_nodelist",
]
