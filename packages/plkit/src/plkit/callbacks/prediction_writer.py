"""``BasePredictionWriter``: write predictions as ``trainer.predict`` makes them.

Subclass it and override ``write_on_batch_end`` and / or ``write_on_epoch_end``::

    import os, torch
    from plkit.callbacks import BasePredictionWriter

    class Writer(BasePredictionWriter):
        def __init__(self, output_dir):
            super().__init__(write_interval="epoch")
            self.output_dir = output_dir

        def write_on_epoch_end(self, trainer, pl_module, predictions, batch_indices):
            rank = trainer.global_rank   # with several processes, one file per rank
            torch.save(predictions, os.path.join(self.output_dir, f"predictions_{rank}.pt"))
            torch.save(batch_indices, os.path.join(self.output_dir, f"batch_indices_{rank}.pt"))

    trainer.predict(model, dataloaders=loader, return_predictions=False)

``batch_indices`` are the dataset indices of each batch's samples, as the loader's batch sampler
drew them (a ``DataLoader`` with automatic batching; for other loaders they cannot be known and
a warning says so).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, Literal

from plcore.callback import Callback
from plcore.utilities.exceptions import MisconfigurationException
from plkit.utilities import LightningEnum

__all__ = ["BasePredictionWriter", "WriteInterval"]


class WriteInterval(LightningEnum):
    """When a :class:`BasePredictionWriter` writes."""

    BATCH = "batch"
    EPOCH = "epoch"
    BATCH_AND_EPOCH = "batch_and_epoch"

    @property
    def on_batch(self) -> bool:
        """Whether it writes after each batch."""
        return self in (WriteInterval.BATCH, WriteInterval.BATCH_AND_EPOCH)

    @property
    def on_epoch(self) -> bool:
        """Whether it writes once, after the last batch."""
        return self in (WriteInterval.EPOCH, WriteInterval.BATCH_AND_EPOCH)


class BasePredictionWriter(Callback):
    """Base class of callbacks that store predictions; override the ``write_on_*`` methods.

    With ``"batch"`` :meth:`write_on_batch_end` runs in ``on_predict_batch_end``; with
    ``"epoch"`` :meth:`write_on_epoch_end` runs in ``on_predict_epoch_end`` with every batch's
    prediction (kept for it even with ``trainer.predict(return_predictions=False)``, on the
    CPU); ``"batch_and_epoch"`` does both.

    Args:
        write_interval: ``"batch"``, ``"epoch"`` or ``"batch_and_epoch"``.

    Raises:
        MisconfigurationException: for another ``write_interval``.
    """

    def __init__(
        self, write_interval: Literal["batch", "epoch", "batch_and_epoch"] = "batch"
    ) -> None:
        if write_interval not in list(WriteInterval):
            raise MisconfigurationException(
                f"`write_interval` should be one of {[i.value for i in WriteInterval]}."
            )
        member = WriteInterval.from_str(str(getattr(write_interval, "value", write_interval)))
        assert isinstance(member, WriteInterval)  # it is one of them: checked above
        self.interval: WriteInterval = member

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        step = getattr(pl_module, "predict_step", None)
        if step is not None and "dataloader_iter" in _parameters(step):
            raise NotImplementedError(
                "The `PredictionWriterCallback` does not support using `dataloader_iter`."
            )

    def write_on_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        prediction: Any,
        batch_indices: Sequence[int] | None,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        """Write one batch's prediction (override it).

        Args:
            trainer: the Trainer.
            pl_module: the LightningModule.
            prediction: what ``predict_step`` returned for the batch.
            batch_indices: the dataset indices of the batch's samples (``[]`` when unknown).
            batch: the batch.
            batch_idx: its index in its dataloader.
            dataloader_idx: the dataloader's index.
        """
        raise NotImplementedError()

    def write_on_epoch_end(
        self,
        trainer: Any,
        pl_module: Any,
        predictions: Sequence[Any],
        batch_indices: Sequence[Any],
    ) -> None:
        """Write every prediction at once (override it).

        Args:
            trainer: the Trainer.
            pl_module: the LightningModule.
            predictions: one list of batch predictions, or (several dataloaders) one per
                dataloader, as ``trainer.predict`` returns them.
            batch_indices: per dataloader (always a list of them), per batch, the sample indices.
        """
        raise NotImplementedError()

    def on_predict_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if not self.interval.on_batch:
            return
        indices = trainer.predict_loop.current_batch_indices
        self.write_on_batch_end(
            trainer, pl_module, outputs, indices, batch, batch_idx, dataloader_idx
        )

    def on_predict_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if not self.interval.on_epoch:
            return
        loop = trainer.predict_loop
        self.write_on_epoch_end(trainer, pl_module, loop.predictions, loop.epoch_batch_indices)


def _parameters(fn: Any) -> tuple[str, ...]:
    try:
        return tuple(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return ()
