"""``Timer``: measure time spent in training, validation and testing, and stop at a time limit.

::

    from datetime import timedelta
    from plkit.callbacks import Timer

    timer = Timer(duration="00:12:00:00")          # stop after 12 hours of training
    trainer = Trainer(callbacks=[timer])
    trainer.fit(model)
    timer.time_elapsed("train"), timer.time_elapsed("validate")

The elapsed training time is stored in checkpoints, so a resumed run keeps counting from there.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from plcore.callback import Callback

if TYPE_CHECKING:
    from plkit.trainer import Trainer

__all__ = ["Timer"]

log = logging.getLogger(__name__)

_STAGES = ("train", "sanity_check", "validate", "test", "predict")
_INTERVALS = ("step", "epoch")
_DURATION = re.compile(r"(\d+):(\d\d):(\d\d):(\d\d)")


class Timer(Callback):
    """Track wall time per stage; with ``duration``, stop training once it has elapsed.

    Args:
        duration: the training time limit: a ``"DD:HH:MM:SS"`` string, a ``timedelta``, a dict
            of ``timedelta`` arguments such as ``{"hours": 2}``, or None for no limit.
        interval: check the limit after every optimizer ``"step"`` or at every ``"epoch"`` end.
        verbose: log a message on rank 0 when the limit stops training.
    """

    def __init__(
        self,
        duration: str | timedelta | dict[str, int] | None = None,
        interval: str = "step",
        verbose: bool = True,
    ) -> None:
        super().__init__()
        if interval not in _INTERVALS:
            raise ValueError(
                f"Timer(interval={interval!r}) is not supported: use 'step' or 'epoch'."
            )
        seconds = _duration_seconds(duration)
        self._duration: float | None = seconds
        self._interval = str(interval)
        self._verbose = verbose
        self._start_time: dict[str, float | None] = dict.fromkeys(_STAGES)
        self._end_time: dict[str, float | None] = dict.fromkeys(_STAGES)
        # Training time already spent before a resume (restored from the checkpoint); an int 0
        # before any, so that an unstarted stage reads ``0`` as in Lightning.
        self._offset: float = 0

    # --- queries --------------------------------------------------------------------------------
    def start_time(self, stage: str = "train") -> float | None:
        """When ``stage`` started (``time.monotonic()``), or None if it has not.

        Args:
            stage: ``"train"``, ``"validate"`` or ``"test"``.
        """
        return self._start_time[_stage(stage)]

    def end_time(self, stage: str = "train") -> float | None:
        """When ``stage`` ended (``time.monotonic()``), or None if it has not.

        Args:
            stage: ``"train"``, ``"validate"`` or ``"test"``.
        """
        return self._end_time[_stage(stage)]

    def time_elapsed(self, stage: str = "train") -> float:
        """Seconds spent in ``stage`` (for training, including time before a resume).

        Args:
            stage: ``"train"``, ``"validate"`` or ``"test"``.
        """
        stage = _stage(stage)
        start, end = self._start_time[stage], self._end_time[stage]
        offset = self._offset if stage == "train" else 0
        if start is None:
            return offset
        return (time.monotonic() if end is None else end) - start + offset

    def time_remaining(self, stage: str = "train") -> float | None:
        """Seconds left of ``duration`` (negative once exceeded), or None without a duration.

        Args:
            stage: ``"train"``, ``"validate"`` or ``"test"``.
        """
        if self._duration is None:
            return None
        return self._duration - self.time_elapsed(stage)

    # --- hooks ----------------------------------------------------------------------------------
    def on_train_start(self, trainer: Trainer, pl_module: Any) -> None:
        self._start("train")

    def on_train_end(self, trainer: Trainer, pl_module: Any) -> None:
        self._end("train")

    def on_validation_start(self, trainer: Trainer, pl_module: Any) -> None:
        self._start("validate")

    def on_validation_end(self, trainer: Trainer, pl_module: Any) -> None:
        self._end("validate")

    def on_test_start(self, trainer: Trainer, pl_module: Any) -> None:
        self._start("test")

    def on_test_end(self, trainer: Trainer, pl_module: Any) -> None:
        self._end("test")

    def on_fit_start(self, trainer: Trainer, pl_module: Any) -> None:
        # Regardless of interval: a run resumed with its time already used up stops at once.
        if self._duration is not None:
            self._check_time_remaining(trainer)

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self._interval == "step" and self._duration is not None:
            self._check_time_remaining(trainer)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: Any) -> None:
        if self._interval == "epoch" and self._duration is not None:
            self._check_time_remaining(trainer)

    def state_dict(self) -> dict[str, Any]:
        return {"time_elapsed": {stage: self.time_elapsed(stage) for stage in _STAGES}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._offset = state_dict.get("time_elapsed", {}).get("train", 0)

    # --- helpers --------------------------------------------------------------------------------
    def _start(self, stage: str) -> None:
        self._start_time[stage] = time.monotonic()
        self._end_time[stage] = None

    def _end(self, stage: str) -> None:
        self._end_time[stage] = time.monotonic()

    def _check_time_remaining(self, trainer: Trainer) -> None:
        assert self._duration is not None
        # Clocks differ between ranks; rank 0 decides for all so they stop at the same step.
        should_stop = bool(trainer.strategy.broadcast(self.time_elapsed() >= self._duration))
        trainer.should_stop = trainer.should_stop or should_stop
        if should_stop and self._verbose and trainer.is_global_zero:
            elapsed = timedelta(seconds=int(self.time_elapsed()))
            log.info(f"Time limit reached. Elapsed time is {elapsed}. Signaling Trainer to stop.")


def _stage(stage: Any) -> str:
    # Accepts plain strings and str enums such as RunningStage.TRAINING.
    value = getattr(stage, "value", stage)
    if value not in _STAGES:
        raise ValueError(f"Unknown stage {stage!r}: use one of {', '.join(map(repr, _STAGES))}.")
    return value


def _parse_dhms(text: str) -> timedelta:
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(
            f"Timer(duration={text!r}) is not a valid duration: write it as DD:HH:MM:SS,"
            " e.g. '00:12:00:00' for 12 hours."
        )
    days, hours, minutes, seconds = map(int, match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _duration_seconds(duration: Any) -> float | None:
    if duration is None:
        return None
    if isinstance(duration, str):
        duration = _parse_dhms(duration)
    elif isinstance(duration, dict):
        try:
            duration = timedelta(**duration)
        except TypeError as error:
            raise ValueError(
                f"Timer(duration={duration!r}): the dict holds timedelta arguments such as"
                f" {{'hours': 2}} ({error})."
            ) from None
    if not isinstance(duration, timedelta):
        raise TypeError(
            "Timer(duration=...) takes a 'DD:HH:MM:SS' string, a timedelta, a dict such as"
            f" {{'hours': 2}}, or None; got {type(duration).__name__}."
        )
    if duration.total_seconds() < 0:
        raise ValueError(f"Timer(duration={duration}) must not be negative.")
    return duration.total_seconds()
