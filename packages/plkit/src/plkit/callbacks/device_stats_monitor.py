"""``DeviceStatsMonitor``: log the device's memory (and the machine's CPU use) during the loops.

::

    from plkit.callbacks import DeviceStatsMonitor

    trainer = Trainer(callbacks=[DeviceStatsMonitor()], log_every_n_steps=10)

Keys are ``DeviceStatsMonitor.{hook}/{stat}`` (the logger's group separator in place of ``/``),
e.g. ``DeviceStatsMonitor.on_train_batch_start/cpu_percent``. On CPU the stats are
``cpu_vm_percent``, ``cpu_percent`` and ``cpu_swap_percent`` from psutil
(``pip install 'plkit[stats]'``); on CUDA, ``torch.cuda.memory_stats``. They are written straight
to the loggers on the batches where the Trainer's own logging is due (``log_every_n_steps``).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from plcore.callback import Callback
from plcore.utilities.exceptions import MisconfigurationException

__all__ = ["DeviceStatsMonitor"]


class DeviceStatsMonitor(Callback):
    """Log device statistics at the start and end of every training, validation and test batch
    whose step is a logging step. Needs a logger.

    Args:
        cpu_stats: ``None``: CPU stats only when running on the CPU; ``True``: always (added to
            the accelerator's); ``False``: never (on CPU nothing is logged).

    Raises:
        MisconfigurationException: in ``fit`` with ``Trainer(logger=False)``.
        ModuleNotFoundError: in ``fit`` on CPU with ``cpu_stats=None`` when psutil is missing.
    """

    def __init__(self, cpu_stats: bool | None = None) -> None:
        self._cpu_stats = cpu_stats
        self._train_step = 0  # Lightning's step axis while the current training batch runs
        self._eval_batches = 0  # batches started in the current evaluation pass

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if stage != "fit":
            return
        if not trainer.loggers:
            raise MisconfigurationException(
                "Cannot use `DeviceStatsMonitor` callback with `Trainer(logger=False)`."
            )
        device = trainer.strategy.root_device
        if self._cpu_stats is None and device.type == "cpu" and not _psutil_available():
            raise ModuleNotFoundError(
                "`DeviceStatsMonitor` cannot log CPU stats as `psutil` is not installed. Install"
                " it with `pip install 'plkit[stats]'` (or `pip install psutil`)."
            )

    # --- the stats ---------------------------------------------------------------------------
    def _log(self, trainer: Any, key: str, due: bool, step: int) -> None:
        if not due:
            return
        device = trainer.strategy.root_device
        if self._cpu_stats is False and device.type == "cpu":
            return
        stats = dict(trainer.accelerator.get_device_stats(device))
        if self._cpu_stats and device.type != "cpu":
            from placcel.accelerators.cpu import get_cpu_stats

            stats.update(get_cpu_stats())
        prefix = f"{type(self).__qualname__}.{key}"
        for logger in trainer.loggers:
            sep = logger.group_separator
            logger.log_metrics({prefix + sep + k: v for k, v in stats.items()}, step=step)

    @staticmethod
    def _due(trainer: Any, count: int) -> bool:
        """Lightning's rule for "the loggers are written now"."""
        every = trainer.log_every_n_steps
        return bool(every) and (count % every == 0 or trainer.should_stop)

    def _eval_step(self, trainer: Any) -> int:
        # fit's validation runs after the training batch's step is counted; Lightning counts
        # it after the validation, so its loggers see one less
        step = int(trainer.batches_that_stepped)
        return step - 1 if step and trainer.state.fn == "fit" else step

    # --- training ----------------------------------------------------------------------------
    def on_train_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int
    ) -> None:
        self._train_step = step = int(trainer.batches_that_stepped)
        self._log(trainer, "on_train_batch_start", self._due(trainer, step + 1), step)

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        step = self._train_step
        self._log(trainer, "on_train_batch_end", self._due(trainer, step + 1), step)

    # --- evaluation --------------------------------------------------------------------------
    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        self._eval_batches = 0

    def on_test_start(self, trainer: Any, pl_module: Any) -> None:
        self._eval_batches = 0

    def _eval_batch_start(self, trainer: Any, key: str) -> None:
        self._eval_batches += 1
        self._eval_batch_end(trainer, key)

    def _eval_batch_end(self, trainer: Any, key: str) -> None:
        due = self._due(trainer, self._eval_batches)
        self._log(trainer, key, due, self._eval_step(trainer) if due else 0)

    def on_validation_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        self._eval_batch_start(trainer, "on_validation_batch_start")

    def on_validation_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._eval_batch_end(trainer, "on_validation_batch_end")

    def on_test_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        self._eval_batch_start(trainer, "on_test_batch_start")

    def on_test_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._eval_batch_end(trainer, "on_test_batch_end")


def _psutil_available() -> bool:
    return importlib.util.find_spec("psutil") is not None
