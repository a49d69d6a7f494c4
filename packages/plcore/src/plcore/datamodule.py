"""``LightningDataModule``: all the data of an experiment, in one reusable class.

Example:
    >>> import torch
    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> class RandomData(LightningDataModule):
    ...     def setup(self, stage):
    ...         self.data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
    ...     def train_dataloader(self):
    ...         return DataLoader(self.data, batch_size=16, shuffle=True)
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from plcore import _hparams
from plcore import checkpoint as _checkpoint
from plcore.utilities.apply import move_data_to_device

__all__ = ["LightningDataModule"]


class LightningDataModule:
    """Groups ``prepare_data``, ``setup`` and the train / val / test / predict dataloaders.

    Override the ``*_dataloader`` methods you need; the Trainer calls ``prepare_data`` once per
    node, then ``setup(stage)`` in every process, then asks for the dataloaders of the stage.
    """

    name: str | None = None

    def __init__(self) -> None:
        self.trainer: Any = None

    # --- hyper-parameters and checkpoints ---------------------------------------------------
    def save_hyperparameters(
        self,
        *args: Any,
        ignore: Sequence[str] | str | None = None,
        frame: Any = None,
        logger: bool = True,
    ) -> None:
        """Store ``__init__`` arguments in ``self.hparams`` and in checkpoints."""
        frame = frame or inspect.currentframe().f_back  # type: ignore[union-attr]
        _hparams.save_hyperparameters(self, *args, ignore=ignore, frame=frame, logger=logger)

    @property
    def hparams(self) -> Any:
        return _hparams.get_hparams(self)

    @property
    def hparams_initial(self) -> Any:
        return _hparams.get_hparams_initial(self)

    @classmethod
    def load_from_checkpoint(
        cls, checkpoint_path: Any, map_location: Any = None, hparams_file: Any = None, **kwargs: Any
    ) -> Any:
        """Rebuild the datamodule from the hyper-parameters stored in a checkpoint."""
        return _checkpoint.load_from_checkpoint(
            cls, checkpoint_path, map_location=map_location, hparams_file=hparams_file, **kwargs
        )

    def state_dict(self) -> dict[str, Any]:
        """State to store in checkpoints (plain types and tensors only)."""
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None: ...

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None: ...

    # --- data hooks ---------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Download or write data to disk; runs once per node (local rank 0)."""

    def setup(self, stage: str) -> None:
        """Load and split data in every process (stage: fit, validate, test or predict)."""

    def teardown(self, stage: str) -> None:
        """Clean up after a stage."""

    def transfer_batch_to_device(self, batch: Any, device: Any, dataloader_idx: int) -> Any:
        return move_data_to_device(batch, device)

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        return batch

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        return batch

    def on_exception(self, exception: BaseException) -> None:
        """Called when a run fails, before the exception propagates."""

    @classmethod
    def from_datasets(
        cls,
        train_dataset: Any = None,
        val_dataset: Any = None,
        test_dataset: Any = None,
        predict_dataset: Any = None,
        batch_size: int = 1,
        num_workers: int = 0,
        **dataloader_kwargs: Any,
    ) -> LightningDataModule:
        """Build a datamodule from datasets (training loader shuffled, the others not)."""
        from torch.utils.data import DataLoader

        def loader(dataset: Any, shuffle: bool) -> Any:
            return DataLoader(
                dataset,
                batch_size=batch_size,
                shuffle=shuffle,
                num_workers=num_workers,
                **dataloader_kwargs,
            )

        datamodule = cls()
        for name, dataset, shuffle in (
            ("train_dataloader", train_dataset, True),
            ("val_dataloader", val_dataset, False),
            ("test_dataloader", test_dataset, False),
            ("predict_dataloader", predict_dataset, False),
        ):
            if dataset is not None:
                setattr(datamodule, name, lambda d=dataset, s=shuffle: loader(d, s))
        return datamodule
