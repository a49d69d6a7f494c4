"""The Tuner: runs a finder callback inside one ``trainer.fit`` (or validate / test / predict)
that ends as soon as the finder is done, and returns what it found.

::

    trainer = Trainer(max_epochs=5)
    tuner = Tuner(trainer)
    lr_finder = tuner.lr_find(model, datamodule=dm)     # sets model.lr (or learning_rate)
    lr_finder.plot(suggest=True)                        # needs matplotlib (plkit[tuner])
    tuner.scale_batch_size(model, datamodule=dm)        # sets model.batch_size (and hparams, dm)
    trainer.fit(model, datamodule=dm)                   # trains with both
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from plcore import Callback, LightningDataModule, LightningModule
from plcore.utilities.exceptions import MisconfigurationException

if TYPE_CHECKING:
    from plkit.trainer import Trainer
    from plkit.tuner.lr_finder import _LRFinder

__all__ = ["Tuner"]

_Method = Literal["fit", "validate", "test", "predict"]


class Tuner:
    """Tunes a model's learning rate and batch size with a Trainer.

    Args:
        trainer: the Trainer the searches run in (its flags, devices and callbacks).
    """

    def __init__(self, trainer: Trainer) -> None:
        self._trainer = trainer

    def scale_batch_size(
        self,
        model: LightningModule,
        train_dataloaders: Any = None,
        val_dataloaders: Any = None,
        dataloaders: Any = None,
        datamodule: LightningDataModule | None = None,
        method: _Method = "fit",
        mode: str = "power",
        steps_per_trial: int = 3,
        init_val: int = 2,
        max_trials: int = 25,
        batch_arg_name: str = "batch_size",
        margin: float = 0.05,
        max_val: int = 8192,
    ) -> int | None:
        """Find the largest batch size that runs without an out-of-memory error.

        Args:
            model: the model; its (or its hparams', or the datamodule's) ``batch_arg_name``
                attribute is what the data hooks build their loaders with.
            train_dataloaders: fit's training data (or a datamodule), as ``trainer.fit`` takes.
            val_dataloaders: fit's validation data.
            dataloaders: the data of validate / test / predict.
            datamodule: a LightningDataModule.
            method: the entry point the trials run: "fit", "validate", "test" or "predict".
            mode: "power" (double until it fails) or "binsearch" (then bisect).
            steps_per_trial: batches run at each size.
            init_val: the first size tried.
            max_trials: the most sizes tried.
            batch_arg_name: the attribute that holds the batch size.
            margin: "binsearch" only: the found size is reduced by this fraction (0 <= margin < 1).
            max_val: the largest size tried.

        Returns:
            The batch size found (also set on the attribute), or None under ``fast_dev_run``.
        """
        _check_tuner_configuration(train_dataloaders, val_dataloaders, dataloaders, method)
        _check_scale_batch_size_configuration(self._trainer)
        if not 0.0 <= margin < 1.0:
            raise ValueError(f"`margin` should be between 0 and 1. Found margin={margin}")
        from plkit.callbacks.batch_size_finder import BatchSizeFinder

        finder = BatchSizeFinder(
            mode=mode,
            steps_per_trial=steps_per_trial,
            init_val=init_val,
            max_trials=max_trials,
            batch_arg_name=batch_arg_name,
            margin=margin,
            max_val=max_val,
        )
        finder._early_exit = True  # the entry point ends once the size is found
        self._run_with(
            finder, model, method, train_dataloaders, val_dataloaders, dataloaders, datamodule
        )
        return finder.optimal_batch_size

    def lr_find(
        self,
        model: LightningModule,
        train_dataloaders: Any = None,
        val_dataloaders: Any = None,
        dataloaders: Any = None,
        datamodule: LightningDataModule | None = None,
        method: _Method = "fit",
        min_lr: float = 1e-8,
        max_lr: float = 1,
        num_training: int = 100,
        mode: str = "exponential",
        early_stop_threshold: float | None = 4.0,
        update_attr: bool = True,
        attr_name: str = "",
    ) -> _LRFinder | None:
        """Run the learning rate range test (``method="fit"`` only).

        Args:
            model: the model; its ``lr`` / ``learning_rate`` (or ``attr_name``) attribute, in
                itself or its hparams, receives the suggestion when ``update_attr``.
            train_dataloaders: fit's training data (or a datamodule).
            val_dataloaders: fit's validation data.
            dataloaders: must be None (the test runs fit).
            datamodule: a LightningDataModule.
            method: "fit".
            min_lr: the smallest learning rate tried.
            max_lr: the largest learning rate tried.
            num_training: how many learning rates (steps) to try.
            mode: "exponential" or "linear" growth after each step.
            early_stop_threshold: stop once the smoothed loss exceeds this times the best
                (None: never).
            update_attr: set the suggestion on the attribute.
            attr_name: the attribute holding the learning rate.

        Returns:
            The finder with ``results``, ``suggestion()`` and ``plot()``, or None under
            ``fast_dev_run``.
        """
        if method != "fit":
            raise MisconfigurationException(
                "method='fit' is the only valid configuration to run lr finder."
            )
        _check_tuner_configuration(train_dataloaders, val_dataloaders, dataloaders, method)
        from plkit.callbacks.lr_finder import LearningRateFinder

        if any(isinstance(cb, LearningRateFinder) for cb in self._trainer.callbacks):
            raise ValueError(
                "Trainer is already configured with a `LearningRateFinder` callback."
                "Please remove it if you want to use the Tuner."
            )
        finder = LearningRateFinder(
            min_lr=min_lr,
            max_lr=max_lr,
            num_training_steps=num_training,
            mode=mode,
            early_stop_threshold=early_stop_threshold,
            update_attr=update_attr,
            attr_name=attr_name,
        )
        finder._early_exit = True
        self._run_with(finder, model, "fit", train_dataloaders, val_dataloaders, None, datamodule)
        return finder.optimal_lr

    def _run_with(
        self,
        finder: Callback,
        model: LightningModule,
        method: str,
        train: Any,
        val: Any,
        dataloaders: Any,
        datamodule: LightningDataModule | None,
    ) -> None:
        """The entry point with ``finder`` as the first callback, removed afterwards."""
        trainer = self._trainer
        callbacks = trainer.callbacks
        callbacks.insert(0, finder)
        try:
            if method == "fit":
                trainer.fit(model, train, val, datamodule)
            elif method == "validate":
                trainer.validate(model, dataloaders, datamodule=datamodule)
            elif method == "test":
                trainer.test(model, dataloaders, datamodule=datamodule)
            else:
                trainer.predict(model, dataloaders, datamodule=datamodule)
        finally:
            callbacks[:] = [cb for cb in trainer.callbacks if cb is not finder]


def _check_tuner_configuration(train: Any, val: Any, dataloaders: Any, method: str) -> None:
    supported = ("fit", "validate", "test", "predict")
    if method not in supported:
        raise ValueError(f"method {method!r} is invalid. Should be one of {supported}.")
    if method == "fit":
        if dataloaders is not None:
            raise MisconfigurationException(
                f"In tuner with method={method!r}, `dataloaders` argument should be None,"
                " please consider setting `train_dataloaders` and `val_dataloaders` instead."
            )
    elif train is not None or val is not None:
        raise MisconfigurationException(
            f"In tuner with `method`={method!r}, `train_dataloaders` and `val_dataloaders`"
            " arguments should be None, please consider setting `dataloaders` instead."
        )


def _check_scale_batch_size_configuration(trainer: Trainer) -> None:
    if trainer.world_size > 1:
        raise ValueError(
            "Tuning the batch size is currently not supported with distributed strategies."
        )
    from plkit.callbacks.batch_size_finder import BatchSizeFinder

    if any(isinstance(cb, BatchSizeFinder) for cb in trainer.callbacks):
        raise ValueError(
            "Trainer is already configured with a `BatchSizeFinder` callback."
            "Please remove it if you want to use the Tuner."
        )
