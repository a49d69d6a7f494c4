"""``ModelCheckpoint``: save the model periodically, keeping the best ``k`` by a monitored metric.

::

    from plkit.callbacks import ModelCheckpoint

    # keep the 2 checkpoints with the lowest "val_loss", plus last.ckpt
    checkpoint = ModelCheckpoint(monitor="val_loss", save_top_k=2, save_last=True,
                                 filename="{epoch}-{val_loss:.2f}")
    trainer = Trainer(callbacks=[checkpoint])
    trainer.fit(model)
    checkpoint.best_model_path          # ".../checkpoints/epoch=3-val_loss=0.12.ckpt"

The decision of what to save is taken identically on every rank (file names are broadcast from
rank 0, top-k votes are reduced); only global rank 0 writes, inside ``trainer.save_checkpoint``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import time
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

import torch

from plcore.utilities import cloud_io
from plcore.utilities.exceptions import MisconfigurationException
from plkit.callbacks.checkpoint import Checkpoint

if TYPE_CHECKING:
    from plkit.trainer import Trainer

__all__ = ["ModelCheckpoint"]

log = logging.getLogger(__name__)

# "{epoch}" or "{val_loss:.2f}": the name of every placeholder, up to ":" or "}".
_PLACEHOLDER = re.compile(r"(\{.*?)[:\}]")
# A whole placeholder, "{epoch}" or "{val/loss:.2f}": its "/" names a metric, not a folder.
_WHOLE_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


class ModelCheckpoint(Checkpoint):
    r"""Save checkpoints during ``fit``, optionally keeping only the best ``save_top_k``.

    When and what is saved (as in Lightning 2.x):

    - by default once per epoch: at the end of the training epoch when validation runs every epoch
      (or never), else after each validation;
    - ``every_n_train_steps``, ``every_n_epochs`` and ``train_time_interval`` are mutually
      exclusive triggers;
    - nothing is saved during the sanity check, in ``fast_dev_run``, outside ``fit``, or twice at
      the same ``global_step``;
    - top-k: the new file is written first, only then is the file that fell out of the top k
      removed, so a crash in between never leaves fewer than k checkpoints.

    Args:
        dirpath: the folder for checkpoints, local or a URL (``s3://bucket/ckpts``, through
            fsspec). Default: ``<save_dir>/<name>/<version>/checkpoints`` of the first logger,
            or ``<default_root_dir>/checkpoints`` without loggers.
        filename: a template such as ``"{epoch}-{val_loss:.2f}"`` filled from the logged metrics
            plus ``epoch`` and ``step``; default ``"{epoch}-{step}"``, i.e. ``epoch=0-step=10``.
        monitor: the logged metric that ranks checkpoints; None keeps the latest ones.
        verbose: log each decision on rank 0.
        save_last: True also writes ``last.ckpt`` at every save point (epoch end, validation,
            step trigger), even when no top-k file is written then; ``"link"`` makes
            ``last.ckpt`` a relative symbolic link to the file saved last instead of serialising
            again (a copy where links cannot be made).
        save_top_k: how many checkpoints to keep; -1 keeps all, 0 none (``save_last`` still works).
            Without ``monitor`` only 1 (the latest), 0 and -1 make sense.
        save_weights_only: save only the model's weights (no optimizer or loop state).
        mode: ``"min"`` or ``"max"``: whether a lower or a higher ``monitor`` is better.
        auto_insert_metric_name: write ``{epoch}`` as ``epoch=3``; set False for templates that
            spell names themselves, e.g. metric names containing ``/``.
        every_n_train_steps: save every N optimizer steps (0 or None: off).
        train_time_interval: save when at least this much time passed since the last save.
        every_n_epochs: save every N epochs; 1 when no trigger is given (0: off).
        save_on_train_epoch_end: force saving at the end of the training epoch (True) or after
            validation (False); None decides from the Trainer's validation settings.
        enable_version_counter: add ``-v1``, ``-v2``... when a file name is already taken.
    """

    CHECKPOINT_JOIN_CHAR = "-"
    CHECKPOINT_EQUALS_CHAR = "="
    CHECKPOINT_NAME_LAST = "last"
    FILE_EXTENSION = ".ckpt"
    STARTING_VERSION = 1
    # The Trainer calls on_train_epoch_end of metric-watching callbacks after the module's own, so
    # that values the module logs in its on_train_epoch_end can be monitored.
    _monitors_metrics = True

    def __init__(
        self,
        dirpath: str | os.PathLike | None = None,
        filename: str | None = None,
        monitor: str | None = None,
        verbose: bool = False,
        save_last: bool | Literal["link"] | None = None,
        save_top_k: int = 1,
        save_weights_only: bool = False,
        mode: str = "min",
        auto_insert_metric_name: bool = True,
        every_n_train_steps: int | None = None,
        train_time_interval: timedelta | None = None,
        every_n_epochs: int | None = None,
        save_on_train_epoch_end: bool | None = None,
        enable_version_counter: bool = True,
        on_save_error: Literal["raise", "warn"] = "raise",
    ) -> None:
        super().__init__()
        if on_save_error not in ("raise", "warn"):
            raise ValueError(
                f"ModelCheckpoint(on_save_error={on_save_error!r}) is invalid; use 'raise' (stop "
                "the run) or 'warn' (keep training and try again at the next save)."
            )
        self.on_save_error = on_save_error
        _check_types(dirpath, filename, monitor, save_top_k, train_time_interval)
        self.monitor = monitor
        self.verbose = verbose
        self.save_last = save_last
        self.save_top_k = save_top_k
        self.save_weights_only = save_weights_only
        self.auto_insert_metric_name = auto_insert_metric_name
        self._save_on_train_epoch_end = save_on_train_epoch_end
        self._enable_version_counter = enable_version_counter
        self.dirpath: str | None = _resolve_dirpath(dirpath)
        self._dirpath_given = dirpath is not None
        self.filename = filename
        if filename is not None:
            # Each placeholder as auto-insertion writes it ("{val/loss}" -> "val/loss=x").
            unfilled = _WHOLE_PLACEHOLDER.sub(
                lambda m: (
                    (m[0][1:-1].split(":")[0] + self.CHECKPOINT_EQUALS_CHAR)
                    * auto_insert_metric_name
                    + "x"
                ),
                filename,
            )
            _check_inside_dirpath(unfilled, filename, filled=False)
        self.mode = _check_mode(mode)
        self._init_triggers(every_n_train_steps, every_n_epochs, train_time_interval)
        self._validate_configuration()
        self._reset_bookkeeping()

    # --- construction ---------------------------------------------------------------------------
    def _init_triggers(
        self,
        every_n_train_steps: int | None,
        every_n_epochs: int | None,
        interval: timedelta | None,
    ) -> None:
        # Saving once per epoch is the default only when the user picked no trigger at all.
        if every_n_train_steps is None and every_n_epochs is None and interval is None:
            every_n_epochs, every_n_train_steps = 1, 0
        self._every_n_epochs: int = every_n_epochs or 0
        self._every_n_train_steps: int = every_n_train_steps or 0
        self._train_time_interval: timedelta | None = interval
        for name in ("every_n_train_steps", "every_n_epochs"):
            value = getattr(self, f"_{name}")
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"ModelCheckpoint({name}={value!r}) is invalid: use an int >= 0.")
        enabled = [self._every_n_train_steps > 0, self._every_n_epochs > 0, interval is not None]
        if sum(enabled) > 1:
            raise ValueError(
                f"ModelCheckpoint(every_n_train_steps={self._every_n_train_steps},"
                f" every_n_epochs={self._every_n_epochs}, train_time_interval={interval}): these"
                " triggers are mutually exclusive; set only one of them."
            )

    def _validate_configuration(self) -> None:
        if self.save_top_k < -1:
            raise ValueError(
                f"ModelCheckpoint(save_top_k={self.save_top_k}) is invalid: use -1 (keep all),"
                " 0 (keep none) or a positive number of checkpoints to keep."
            )
        if self.monitor is None and self.save_top_k not in (-1, 0, 1):
            raise ValueError(
                f"ModelCheckpoint(save_top_k={self.save_top_k}, monitor=None) is not a valid"
                " configuration: without a monitored quantity there is no ranking for the top k."
                " Pass monitor='<logged metric>' or use save_top_k in (-1, 0, 1)."
            )
        if self.save_last not in (None, True, False, "link"):
            raise ValueError(
                f"ModelCheckpoint(save_last={self.save_last!r}) is invalid: use None, True, False"
                " or 'link'."
            )

    def _reset_bookkeeping(self) -> None:
        self.current_score: torch.Tensor | None = None
        self.best_k_models: dict[str, torch.Tensor] = {}
        self.kth_best_model_path = ""
        self.best_model_score: torch.Tensor | None = None
        self.best_model_path = ""
        self.last_model_path = ""
        self.kth_value = torch.tensor(math.inf if self.mode == "min" else -math.inf)
        # 0: nothing is worth saving before the first optimizer step.
        self._last_global_step_saved = 0
        self._last_time_checked: float | None = None
        self._last_checkpoint_saved = ""
        self._validation_has_run = False
        self._warned: set[str] = set()

    @property
    def every_n_train_steps(self) -> int:
        """Save every this many optimizer steps (0: not on a step schedule); what loggers with
        ``log_model`` record among the callback's settings."""
        return self._every_n_train_steps

    @property
    def state_key(self) -> str:
        return self._generate_state_key(
            monitor=self.monitor,
            mode=self.mode,
            every_n_train_steps=self._every_n_train_steps,
            every_n_epochs=self._every_n_epochs,
            train_time_interval=self._train_time_interval,
        )

    # --- hooks ----------------------------------------------------------------------------------
    def setup(self, trainer: Trainer, pl_module: Any, stage: str) -> None:
        # Every rank resolves a folder (logger versions may differ); rank 0's wins.
        self.dirpath = trainer.strategy.broadcast(self._default_dirpath(trainer))
        if self.save_last == "link" and cloud_io.is_remote(self.dirpath):
            raise ValueError(
                "`ModelCheckpoint(save_last='link')` is only supported for local file paths,"
                f" got `dirpath={self.dirpath}`."
            )
        if stage == "fit" and not trainer.fast_dev_run and (self.save_top_k != 0 or self.save_last):
            # Fail now, on every rank, rather than after the first epoch's training.
            error = _unwritable(self.dirpath, trainer.default_root_dir, self._dirpath_given)
            if error is not None and self.on_save_error == "raise":
                raise error
            if error is not None:  # on_save_error="warn": training goes on without saves
                warnings.warn(str(error), UserWarning, stacklevel=2)
        if trainer.is_global_zero and stage == "fit":
            self._warn_if_dir_not_empty(self.dirpath)

    def on_train_start(self, trainer: Trainer, pl_module: Any) -> None:
        self._last_time_checked = time.monotonic()

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self._every_n_train_steps < 1 and self._train_time_interval is None:
            return  # saves only at epoch ends or after validation: nothing to do per batch
        if self._should_skip_saving_checkpoint(trainer):
            return
        n = self._every_n_train_steps
        skip_batch = n < 1 or trainer.global_step % n != 0
        skip_time = self._time_interval_not_due(trainer)
        if skip_batch and skip_time:
            return
        if not skip_time:
            self._last_time_checked = time.monotonic()
        candidates = self._monitor_candidates(trainer)
        self._save_topk_checkpoint(trainer, candidates)
        self._guarded(self._save_last_checkpoint, trainer, candidates)

    def on_train_end(self, trainer: Trainer, pl_module: Any) -> None:
        # save_last=True and no save point came (e.g. max_steps before the first trigger):
        # last.ckpt is still written, as in Lightning.
        if self.save_last and not self._last_checkpoint_saved:
            self._guarded(self._save_last_checkpoint, trainer, self._monitor_candidates(trainer))

    def on_train_epoch_end(self, trainer: Trainer, pl_module: Any) -> None:
        if self._should_skip_saving_checkpoint(trainer):
            return
        if self._should_save_on_train_epoch_end(trainer):
            self._save_epoch_checkpoints(trainer)

    def on_validation_end(self, trainer: Trainer, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        self._validation_has_run = True
        if self._should_skip_saving_checkpoint(trainer):
            return
        if not self._should_save_on_train_epoch_end(trainer):
            self._save_epoch_checkpoints(trainer)

    def state_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "best_model_score": self.best_model_score,
            "best_model_path": self.best_model_path,
            "current_score": self.current_score,
            "dirpath": self.dirpath,
            "best_k_models": dict(self.best_k_models),
            "kth_best_model_path": self.kth_best_model_path,
            "kth_value": self.kth_value,
            "last_model_path": self.last_model_path,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        saved_dirpath = state_dict.get("dirpath", self.dirpath)
        if saved_dirpath == self.dirpath:
            self.best_model_score = state_dict["best_model_score"]
            self.kth_best_model_path = state_dict.get(
                "kth_best_model_path", self.kth_best_model_path
            )
            self.kth_value = state_dict.get("kth_value", self.kth_value)
            self.best_k_models = dict(state_dict.get("best_k_models", self.best_k_models))
            self.last_model_path = state_dict.get("last_model_path", self.last_model_path)
            self.current_score = state_dict.get("current_score", self.current_score)
        else:
            # Files in another folder are not ours to rank or delete.
            warnings.warn(
                f"The dirpath has changed from {saved_dirpath!r} to {self.dirpath!r}, therefore"
                " `best_model_score`, `kth_best_model_path`, `kth_value`, `last_model_path` and"
                " `best_k_models` won't be reloaded. Only `best_model_path` will be reloaded.",
                stacklevel=2,
            )
        self.best_model_path = state_dict["best_model_path"]

    # --- when to save ---------------------------------------------------------------------------
    def _should_skip_saving_checkpoint(self, trainer: Trainer) -> bool:
        return bool(
            trainer.fast_dev_run
            or trainer.state.fn != "fit"
            or trainer.sanity_checking
            or self._last_global_step_saved == trainer.global_step
        )

    def _should_save_on_train_epoch_end(self, trainer: Trainer) -> bool:
        if self._save_on_train_epoch_end is not None:
            return self._save_on_train_epoch_end
        # Validation every epoch but no validation batches: save when the epoch ends.
        num_val_batches = trainer.num_val_batches
        if isinstance(num_val_batches, (list, tuple)):
            num_val_batches = sum(num_val_batches)
        if trainer.check_val_every_n_epoch == 1 and num_val_batches == 0:
            return True
        # Validation every k > 1 epochs or several times per epoch: save after each validation,
        # when the metrics exist; once per epoch: when the training epoch ends.
        return bool(trainer.validates_once_per_epoch)

    def _time_interval_not_due(self, trainer: Trainer) -> bool:
        if self._train_time_interval is None:
            return True
        previous = self._last_time_checked
        elapsed = math.inf if previous is None else time.monotonic() - previous
        not_due = previous is None or elapsed < self._train_time_interval.total_seconds()
        # Clocks differ between ranks; all follow rank 0 so that all save together.
        return bool(trainer.strategy.broadcast(not_due))

    def _save_epoch_checkpoints(self, trainer: Trainer) -> None:
        candidates = self._monitor_candidates(trainer)
        n = self._every_n_epochs
        if n >= 1 and (trainer.current_epoch + 1) % n == 0:
            self._save_topk_checkpoint(trainer, candidates)
        self._guarded(self._save_last_checkpoint, trainer, candidates)

    def _monitor_candidates(self, trainer: Trainer) -> dict[str, Any]:
        # Copies: the trainer may update its metric tensors in place after this save.
        candidates = {
            key: value.detach().clone() if isinstance(value, torch.Tensor) else value
            for key, value in trainer.callback_metrics.items()
        }
        # self.log("epoch", 3) arrives as a float tensor; file names want an int.
        epoch, step = candidates.get("epoch"), candidates.get("step")
        candidates["epoch"] = (
            epoch.int() if isinstance(epoch, torch.Tensor) else torch.tensor(trainer.current_epoch)
        )
        candidates["step"] = (
            step.int() if isinstance(step, torch.Tensor) else torch.tensor(trainer.global_step)
        )
        return candidates

    # --- top k ----------------------------------------------------------------------------------
    def _save_topk_checkpoint(self, trainer: Trainer, candidates: dict[str, Any]) -> None:
        if self.save_top_k == 0:
            return
        if self.monitor is None:
            self._guarded(self._save_none_monitor_checkpoint, trainer, candidates)
            return
        if self.monitor not in candidates:
            self._handle_missing_monitor(candidates)
        current = candidates.get(self.monitor)
        if self.check_monitor_top_k(trainer, current):
            assert current is not None
            self._guarded(
                lambda tr, c: self._update_best_and_save(current, tr, c), trainer, candidates
            )
        elif self.verbose and trainer.is_global_zero:
            log.info(
                f"Epoch {int(candidates['epoch']):d}, global step {int(candidates['step']):d}:"
                f" {self.monitor!r} was not in top {self.save_top_k}"
            )

    def _handle_missing_monitor(self, candidates: dict[str, Any]) -> None:
        message = (
            f"`ModelCheckpoint(monitor={self.monitor!r})` could not find the monitored key in the"
            f" returned metrics: {list(candidates)}."
            f" HINT: Did you call `log({self.monitor!r}, value)` in the `LightningModule`?"
        )
        # Before the first validation a validation metric cannot exist yet: warn, don't fail.
        if self._validation_has_run:
            raise ValueError(message)
        if message not in self._warned:
            self._warned.add(message)
            warnings.warn(message, RuntimeWarning, stacklevel=2)

    def check_monitor_top_k(self, trainer: Trainer, current: torch.Tensor | None = None) -> bool:
        """Whether ``current`` earns a place in the top k (agreed on by all ranks).

        Args:
            trainer: the running Trainer.
            current: the monitored value now, or None when it was not logged.
        """
        if current is None:
            return False
        if self.save_top_k == -1 or len(self.best_k_models) < self.save_top_k:
            return True
        better = torch.lt if self.mode == "min" else torch.gt
        kth = self.best_k_models[self.kth_best_model_path]
        decision = bool(better(current, kth.to(current.device)))
        return trainer.strategy.reduce_boolean_decision(decision, all=True)

    def _snapshot(self) -> dict[str, Any]:
        names = (
            "best_k_models",
            "kth_best_model_path",
            "kth_value",
            "best_model_path",
            "best_model_score",
            "current_score",
            "last_model_path",
            "_last_global_step_saved",
            "_last_checkpoint_saved",
        )
        state = {name: getattr(self, name) for name in names}
        state["best_k_models"] = dict(self.best_k_models)
        return state

    def _guarded(self, save: Any, trainer: Trainer, *args: Any) -> None:
        """Run one save; if writing fails, the bookkeeping goes back to the files that exist."""
        snapshot = self._snapshot()
        try:
            save(trainer, *args)
        except BaseException as err:
            for name, value in snapshot.items():
                setattr(self, name, value)
            if isinstance(err, OSError) and self.on_save_error == "warn":
                warnings.warn(
                    f"ModelCheckpoint could not write a checkpoint ({err}); the previous files are "
                    "intact and training continues (on_save_error='warn').",
                    UserWarning,
                    stacklevel=2,
                )
                return
            raise

    def _update_best_and_save(
        self, current: torch.Tensor, trainer: Trainer, candidates: dict[str, Any]
    ) -> None:
        k = len(self.best_k_models) + 1 if self.save_top_k == -1 else self.save_top_k
        del_filepath = None
        if len(self.best_k_models) == k and k > 0:
            del_filepath = self.kth_best_model_path
            self.best_k_models.pop(del_filepath)
        if torch.isnan(current):
            # NaN ranks as the worst possible score, so it never displaces a real one.
            current = torch.tensor(
                math.inf if self.mode == "min" else -math.inf, device=current.device
            )
        filepath = self._get_metric_interpolated_filepath_name(candidates, trainer, del_filepath)
        self.current_score = current
        self.best_k_models[filepath] = current
        self._refresh_best(k)
        if self.verbose and trainer.is_global_zero:
            log.info(
                f"Epoch {int(candidates['epoch']):d}, global step {int(candidates['step']):d}:"
                f" {self.monitor!r} reached {float(current):0.5f}"
                f" (best {float(self.best_model_score):0.5f}), saving model to {filepath!r} as"
                f" top {k}"
            )
        # Write the new file before deleting the one it replaces (crash safety).
        self._save_checkpoint(trainer, filepath)
        if del_filepath and self._should_remove_checkpoint(trainer, del_filepath, filepath):
            self._remove_checkpoint(trainer, del_filepath)

    def _refresh_best(self, k: int) -> None:
        scores = self.best_k_models
        worst, best = (max, min) if self.mode == "min" else (min, max)
        if len(scores) == k:
            self.kth_best_model_path = worst(scores, key=lambda path: float(scores[path]))
            self.kth_value = scores[self.kth_best_model_path]
        self.best_model_path = best(scores, key=lambda path: float(scores[path]))
        self.best_model_score = scores[self.best_model_path]

    def _save_none_monitor_checkpoint(self, trainer: Trainer, candidates: dict[str, Any]) -> None:
        filepath = self._get_metric_interpolated_filepath_name(
            candidates, trainer, self.best_model_path
        )
        # Set before saving: the path is part of the state written into the file.
        previous, self.best_model_path = self.best_model_path, filepath
        self._save_checkpoint(trainer, filepath)
        if (
            self.save_top_k == 1
            and previous
            and self._should_remove_checkpoint(trainer, previous, filepath)
        ):
            self._remove_checkpoint(trainer, previous)

    def _save_last_checkpoint(self, trainer: Trainer, candidates: dict[str, Any]) -> None:
        if not self.save_last:
            return
        filepath = self.format_checkpoint_name(candidates, self.CHECKPOINT_NAME_LAST)
        if self._enable_version_counter:
            version = self.STARTING_VERSION
            while self.file_exists(filepath, trainer) and filepath != self.last_model_path:
                filepath = self.format_checkpoint_name(
                    candidates, self.CHECKPOINT_NAME_LAST, ver=version
                )
                version += 1
        previous, self.last_model_path = self.last_model_path, filepath
        if self.save_last == "link" and self._last_checkpoint_saved and self.save_top_k != 0:
            self._link_checkpoint(trainer, self._last_checkpoint_saved, filepath)
        else:
            self._save_checkpoint(trainer, filepath)
        if previous and self._should_remove_checkpoint(trainer, previous, filepath):
            self._remove_checkpoint(trainer, previous)

    # --- files ----------------------------------------------------------------------------------
    def _save_checkpoint(self, trainer: Trainer, filepath: str) -> None:
        trainer.save_checkpoint(filepath, self.save_weights_only)
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                after_save = getattr(logger, "after_save_checkpoint", None)
                if after_save is not None:
                    after_save(self)

    @staticmethod
    def _link_checkpoint(trainer: Trainer, source: str, target: str) -> None:
        """``save_last="link"``: make ``target`` a relative symbolic link to ``source``.

        Where links cannot be made (Windows without the privilege), ``source`` is copied.
        """
        if trainer.is_global_zero and os.path.abspath(source) != os.path.abspath(target):
            if os.path.islink(target) or os.path.isfile(target):
                os.remove(target)
            elif os.path.isdir(target):
                shutil.rmtree(target)
            os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
            try:
                os.symlink(os.path.relpath(source, os.path.dirname(target) or "."), target)
            except OSError:
                shutil.copyfile(source, target)
        trainer.strategy.barrier("ModelCheckpoint._link_checkpoint")

    @staticmethod
    def _remove_checkpoint(trainer: Trainer, filepath: str) -> None:
        trainer.strategy.remove_checkpoint(filepath)

    def _should_remove_checkpoint(self, trainer: Trainer, previous: str, current: str) -> bool:
        """Never delete the file just written, the file training resumed from, or foreign files."""
        if previous == current:
            return False
        if cloud_io.is_remote(previous):  # URLs compare as strings: no abspath for them
            resume = getattr(trainer, "ckpt_path", None)
            if resume is not None and previous == os.fspath(resume):
                return False
            return previous.startswith((self.dirpath or "").rstrip("/") + "/")
        previous_abs = os.path.abspath(previous)
        resume_path = getattr(trainer, "ckpt_path", None)
        if resume_path is not None and previous_abs == os.path.abspath(resume_path):
            return False
        dirpath = os.path.abspath(self.dirpath or ".")
        return previous_abs.startswith(dirpath + os.sep)

    def file_exists(self, filepath: str, trainer: Trainer) -> bool:
        """Whether ``filepath`` exists, as rank 0 sees it (so all ranks pick the same name).

        Args:
            filepath: the file to look for.
            trainer: the running Trainer.
        """
        return bool(trainer.strategy.broadcast(cloud_io.exists(filepath)))

    def _get_metric_interpolated_filepath_name(
        self, candidates: dict[str, Any], trainer: Trainer, del_filepath: str | None = None
    ) -> str:
        filepath = self.format_checkpoint_name(candidates)
        if self._enable_version_counter:
            version = self.STARTING_VERSION
            # The file about to be replaced may be overwritten; any other existing file may not.
            while self.file_exists(filepath, trainer) and filepath != del_filepath:
                filepath = self.format_checkpoint_name(candidates, ver=version)
                version += 1
        return filepath

    # --- names ----------------------------------------------------------------------------------
    def format_checkpoint_name(
        self, metrics: dict[str, Any], filename: str | None = None, ver: int | None = None
    ) -> str:
        """The checkpoint path for ``metrics``: the template filled in, a version, the extension.

        Example:
            >>> cb = ModelCheckpoint(dirpath="/ckpts", filename="{epoch}-{val_loss:.2f}")
            >>> cb.format_checkpoint_name({"epoch": 3, "val_loss": 0.1234})
            '/ckpts/epoch=3-val_loss=0.12.ckpt'

        Args:
            metrics: the values to fill in (missing placeholders become 0).
            filename: a template to use instead of ``self.filename``.
            ver: a version number, appended as ``-v<ver>``.
        """
        name = self._format_checkpoint_name(
            filename or self.filename, metrics, auto_insert_metric_name=self.auto_insert_metric_name
        )
        if ver is not None:
            name = self.CHECKPOINT_JOIN_CHAR.join((name, f"v{ver}"))
        name = f"{name}{self.FILE_EXTENSION}"
        _check_inside_dirpath(name, filename or self.filename)  # filled-in values too
        return os.path.join(self.dirpath, name) if self.dirpath else name

    def _format_checkpoint_name(
        self,
        filename: str | None,
        metrics: dict[str, Any],
        prefix: str = "",
        auto_insert_metric_name: bool = True,
    ) -> str:
        if not filename:
            filename = "{epoch}" + self.CHECKPOINT_JOIN_CHAR + "{step}"
        metrics = dict(metrics)
        # Longest names first, so "{epoch_test}" is not mangled by the rewrite of "{epoch".
        groups = sorted(set(_PLACEHOLDER.findall(filename)), key=len, reverse=True)
        for group in groups:
            name = group[1:]
            if auto_insert_metric_name:
                filename = filename.replace(group, name + self.CHECKPOINT_EQUALS_CHAR + "{" + name)
            # Index a mapping instead of naming a keyword, so names with dots or "/" work.
            filename = filename.replace(group, f"{{0[{name}]")
            metrics.setdefault(name, torch.tensor(0))
        filename = filename.format(metrics)
        return self.CHECKPOINT_JOIN_CHAR.join([prefix, filename]) if prefix else filename

    def _default_dirpath(self, trainer: Trainer) -> str:
        if self.dirpath is not None:
            return self.dirpath
        loggers = list(trainer.loggers)
        if not loggers:
            return os.path.join(trainer.default_root_dir, "checkpoints")
        logger = loggers[0]
        save_dir = logger.save_dir if logger.save_dir is not None else trainer.default_root_dir
        version = logger.version
        version = version if isinstance(version, str) else f"version_{version}"
        return os.path.join(save_dir, str(logger.name), version, "checkpoints")

    def _warn_if_dir_not_empty(self, dirpath: str) -> None:
        if self.save_top_k != 0 and cloud_io.isdir(dirpath) and cloud_io.listdir(dirpath):
            warnings.warn(f"Checkpoint directory {dirpath} exists and is not empty.", stacklevel=2)

    def to_yaml(self, filepath: str | os.PathLike | None = None) -> None:
        """Write ``best_k_models`` (path: score) as YAML, by default to ``dirpath/best_k_models.yaml``.

        Args:
            filepath: where to write instead of the default.
        """
        if filepath is None:
            if self.dirpath is None:
                raise ValueError(
                    "ModelCheckpoint.to_yaml() needs a filepath before dirpath is set."
                )
            filepath = os.path.join(self.dirpath, "best_k_models.yaml")
        # A JSON string is a valid YAML scalar: quoting handles ":" and other specials in paths.
        lines = [
            f"{json.dumps(path)}: {float(score)!r}" for path, score in self.best_k_models.items()
        ]
        cloud_io.write_text(os.fspath(filepath), "\n".join(lines) + "\n" if lines else "{}\n")


def _resolve_dirpath(dirpath: str | os.PathLike | None) -> str | None:
    if dirpath is None:
        return None
    dirpath = cloud_io.check_path(dirpath, "ModelCheckpoint(dirpath=...)")  # its package installed?
    if cloud_io.is_remote(dirpath):
        return dirpath
    return os.path.realpath(os.path.expanduser(dirpath))


def _unwritable(dirpath: str, root: str, given: bool) -> OSError | None:
    """A NotADirectoryError / PermissionError (Lightning's classes, raised by it only at the
    first save) when ``dirpath`` cannot be created or written, naming the folder and the
    argument; None when it can."""
    if cloud_io.is_remote(dirpath):  # remote: the store answers at the first save
        return None
    existing = os.path.abspath(dirpath)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if given:
        where, fix = f"ModelCheckpoint(dirpath={dirpath!r})", "dirpath="
    elif os.path.abspath(dirpath).startswith(os.path.join(os.path.abspath(root), "")):
        where = f"the checkpoint folder {dirpath!r} (under Trainer(default_root_dir={root!r}))"
        fix = "default_root_dir="
    else:
        where, fix = f"the checkpoint folder {dirpath!r} (under the logger's save_dir)", "save_dir="
    fix = f"pass a folder you can write to as {fix}"
    if not os.path.isdir(existing):
        return NotADirectoryError(
            f"Checkpoints cannot be saved in {where}: {existing!r} is a file, not a folder; {fix}."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        return PermissionError(
            f"Checkpoints cannot be saved in {where}: the folder {existing!r} is not writable;"
            f" {fix}, or make it writable."
        )
    return None


def _check_inside_dirpath(name: str, template: str | None, filled: bool = True) -> None:
    """A MisconfigurationException when the checkpoint name ``name`` (made from ``template``;
    ``filled``: with the values in, else with each placeholder replaced) is absolute or climbs
    out of ``dirpath`` with ``..``: checkpoints stay inside ``dirpath``."""
    normalized = os.path.normpath(name)
    if not (
        os.path.isabs(name)
        or os.path.splitdrive(name)[0]
        or normalized == os.pardir
        or normalized.startswith(os.pardir + os.sep)
    ):
        return
    raise MisconfigurationException(
        f"ModelCheckpoint(filename={template!r}) would save checkpoints outside `dirpath`"
        + (f" (as {name!r})." if filled else ".")
        + " `filename` is a name inside `dirpath` (sub-folders allowed, no"
        " absolute path, no '..'): pass the folder as `dirpath=` and the name as `filename=`."
    )


def _check_mode(mode: str) -> str:
    if mode not in ("min", "max"):
        raise ValueError(f"`mode` can be 'min' or 'max', got {mode!r}.")
    return mode


def _check_types(dirpath: Any, filename: Any, monitor: Any, save_top_k: Any, interval: Any) -> None:
    if dirpath is not None and not isinstance(dirpath, (str, os.PathLike)):
        raise TypeError(
            f"ModelCheckpoint(dirpath=...) takes a str or path, got {type(dirpath).__name__}."
        )
    for name, value in (("filename", filename), ("monitor", monitor)):
        if value is not None and not isinstance(value, str):
            raise TypeError(
                f"ModelCheckpoint({name}=...) takes a str or None, got {type(value).__name__}."
            )
    if not isinstance(save_top_k, int) or isinstance(save_top_k, bool):
        raise TypeError(
            f"ModelCheckpoint(save_top_k=...) takes an int (-1, 0, 1, ...), got {save_top_k!r}."
        )
    if interval is not None and not isinstance(interval, timedelta):
        raise TypeError(
            "ModelCheckpoint(train_time_interval=...) takes a datetime.timedelta, e.g."
            f" timedelta(minutes=30); got {type(interval).__name__}."
        )
