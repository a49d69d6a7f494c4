"""``lightning.pytorch.core``: the LightningModule and LightningDataModule."""

from plcore import LightningDataModule, LightningModule
from plkit import _cli_types

# A LightningCLI-made module's checkpoint names the function that rebuilds it: let
# load_from_checkpoint run plkit's (it imports jsonargparse only when such a file is loaded).
_cli_types.register_instantiators()

__all__ = ["LightningDataModule", "LightningModule"]
