"""``lightning.pytorch.plugins.environments``: where the processes' ranks come from.

Give one to a strategy: ``Trainer(strategy=DDPStrategy(cluster_environment=SLURMEnvironment()))``.
"""

from placcel import (
    ClusterEnvironment,
    LightningEnvironment,
    SLURMEnvironment,
    TorchElasticEnvironment,
)

__all__ = [
    "ClusterEnvironment",
    "LightningEnvironment",
    "SLURMEnvironment",
    "TorchElasticEnvironment",
]
