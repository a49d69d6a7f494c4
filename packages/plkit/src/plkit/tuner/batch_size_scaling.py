"""Batch size scaling: the largest batch size whose steps run without running out of memory.

Each trial sets the batch size attribute (``model.batch_size``, ``model.hparams.batch_size`` or
the datamodule's), asks the data hooks for their loaders again and runs ``steps_per_trial``
batches. "power" doubles the size until a trial fails, then halves it once; "binsearch" also
doubles, then bisects between the last size that ran and the first that failed (and finally
takes ``margin`` off). What counts as a failure is :func:`plkit.utilities.memory.is_oom_error`;
any other error propagates. Afterwards the state is restored from a temporary
``.scale_batch_size_<uuid>.ckpt`` in ``default_root_dir`` (removed), and the attribute holds
the size found.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from plcore.utilities.rank_zero import rank_zero_info, rank_zero_warn
from plkit import _dataloaders
from plkit._runstate import RunState
from plkit._state import RunningStage, TrainerFn
from plkit.loops import evaluation
from plkit.loops._data import CombinedLoader
from plkit.loops.fit import run_training
from plkit.loops.optimization import Optimization
from plkit.loops.prediction import run_prediction
from plkit.tuner import _trial
from plkit.utilities.memory import garbage_collection_cuda, is_oom_error
from plkit.utilities.parsing import lightning_getattr, lightning_setattr

if TYPE_CHECKING:
    from plkit.trainer import Trainer

__all__ = ["scale_batch_size"]

log = logging.getLogger("plkit")

_DEFAULT_MAX_VAL = 8192

#: The limit flag each entry point's trials set to ``steps_per_trial``.
_EVAL_LIMIT = {
    TrainerFn.VALIDATING: "limit_val_batches",
    TrainerFn.TESTING: "limit_test_batches",
    TrainerFn.PREDICTING: "limit_predict_batches",
}


def scale_batch_size(
    trainer: Trainer,
    mode: str = "power",
    steps_per_trial: int = 3,
    init_val: int = 2,
    max_trials: int = 25,
    batch_arg_name: str = "batch_size",
    margin: float = 0.05,
    max_val: int = 8192,
) -> int | None:
    """Search inside the trainer's current entry point; returns the size (None under
    ``fast_dev_run``)."""
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"`margin` should be between 0 and 1. Found margin={margin}")
    run = _trial.runstate(trainer)
    if run.plan.fast_dev_run:
        rank_zero_warn("Skipping batch size scaler since `fast_dev_run` is enabled.")
        return None
    path = _trial.checkpoint_path(run, "scale_batch_size")
    saved = _trial.snapshot(run)
    verbose = run.args.verbose
    fn = run.state.fn
    if fn == TrainerFn.FITTING:
        limits = {
            "limit_train_batches": 1.0,
            "limit_val_batches": steps_per_trial,
            "max_steps": steps_per_trial,
        }
    elif fn != TrainerFn.PREDICTING:  # Lightning leaves predict's limit (and all) as it is
        assert fn is not None
        limits = {_EVAL_LIMIT[fn]: steps_per_trial}
        run.args.verbose = False
    else:
        limits = {}
    _trial.prepare_trial(run, [], **limits)
    search = _Search(run, batch_arg_name, max_val, saved)
    try:
        new_size, _ = search.adjust(value=init_val)
        if mode == "power":
            new_size = search.power(new_size, max_trials)
        elif mode == "binsearch":
            new_size = search.binsearch(new_size, max_trials, margin)
        garbage_collection_cuda()
        log.info(
            f"Finished batch size finder, will continue with full run using batch size {new_size}"
        )
    finally:
        run.args.verbose = verbose
        saved.restore(run)
        search.reload()  # the entry point continues with the new size's loaders
        _trial.restore_checkpoint(run, path, saved)
    return new_size


class _Search:
    """The trials of one search: set the size, re-request the loaders, run the steps."""

    def __init__(self, run: RunState, batch_arg_name: str, max_val: int, saved: _trial.Saved):
        self.run = run
        self.name = batch_arg_name
        self.max_val = max_val
        self.saved = saved
        self.fn = run.state.fn
        self.eval_loaders: tuple[list[Any], list[int | float]] | None = None

    # --- data -----------------------------------------------------------------------------------
    def setup_data(self) -> list[Any]:
        """The loaders the trials run on, requested when there are none (Lightning's
        ``loop.setup_data()``)."""
        run = self.run
        if self.fn == TrainerFn.FITTING:
            if run.plan.limit_train_batches == 0:
                return []
            if run.loaders.train is None:
                _dataloaders.setup_train_data(run)
            train = run.loaders.train
            return list(train._items) if isinstance(train, CombinedLoader) else [train]
        # validate / test / predict ask for their loaders every time (Lightning's eval loops)
        self.eval_loaders = self._request_eval()
        return self.eval_loaders[0]

    def _request_eval(self) -> tuple[list[Any], list[int | float]]:
        run, fn = self.run, self.fn
        assert fn is not None
        hook, explicit = {
            TrainerFn.VALIDATING: ("val_dataloader", run.args.val),
            TrainerFn.TESTING: ("test_dataloader", run.args.test),
            TrainerFn.PREDICTING: ("predict_dataloader", run.args.predict),
        }[fn]
        given = _dataloaders.required_loaders(run, fn, explicit, hook)
        return _dataloaders.eval_loaders(run, given, _EVAL_LIMIT[fn])

    def reload(self) -> None:
        """After the search, with the run's own flags back: the loaders at the size found,
        for the rest of the entry point."""
        run = self.run
        if self.fn == TrainerFn.FITTING:
            self.reset_data()
            return
        loaders, limits = self._request_eval()
        if self.fn != TrainerFn.PREDICTING:
            run.metrics.begin_eval()  # the pass goes on without the trials' logged values
        if self.fn == TrainerFn.TESTING:
            run.loaders.test_batches = limits
        elif self.fn == TrainerFn.VALIDATING:
            run.loaders.val, run.loaders.validate_batches = loaders, limits
        else:
            run.loaders.predict_batches = limits
        run.reloaded_eval = (loaders, limits)

    def reset_data(self) -> None:
        """Force the loaders to be requested again (the size changed): fit's validation
        loaders too, as Lightning's reset does."""
        run = self.run
        run.loaders = run.loaders.fresh()
        self.setup_data()
        if self.fn == TrainerFn.FITTING and _dataloaders.validation_enabled(run):
            _dataloaders.setup_fit_val_data(run)

    def _dataset_length(self, loaders: list[Any]) -> int | None:
        lengths = []
        for loader in loaders:
            dataset = getattr(loader, "dataset", None)
            try:
                lengths.append(len(dataset))  # type: ignore[arg-type]
            except TypeError:  # an iterable-style dataset has no length
                continue
        if not lengths:
            return None
        return max(lengths) if self.fn == TrainerFn.FITTING else sum(lengths)

    # --- one step of the search -----------------------------------------------------------------
    def adjust(
        self,
        factor: float = 1.0,
        value: int | None = None,
        desc: str | None = None,
        cap: int = _DEFAULT_MAX_VAL,
    ) -> tuple[int, bool]:
        """Set the next size (``value``, or the current one times ``factor``, capped at
        ``cap``); unchanged when the current size already covers the dataset. As in
        Lightning, only binsearch's increases are capped at the user's ``max_val``; the other
        adjustments use the default cap (the search loops check ``max_val`` themselves)."""
        model = self.run.lightning_module
        batch_size = lightning_getattr(model, self.name)
        length = self._dataset_length(self.setup_data())
        if length is not None and batch_size >= length:
            rank_zero_info(
                f"The batch size {batch_size} is greater or equal than"
                f" the length of your dataset: {length}."
            )
            return batch_size, False
        new_size = value if value is not None else int(batch_size * factor)
        if new_size > cap:
            if desc:
                rank_zero_info(
                    f"Batch size {new_size} exceeds max_val limit {cap}, capping at {cap}"
                )
            new_size = cap
        if desc:
            rank_zero_info(f"Batch size {batch_size} {desc}, trying batch size {new_size}")
        lightning_setattr(model, self.name, new_size)
        return new_size, new_size != batch_size

    def trial(self) -> None:
        """Run the entry point's loop for ``steps_per_trial`` batches from the saved progress."""
        run = self.run
        _trial._copy_into(run.progress, self.saved.progress)
        run.should_stop = False
        try:
            if self.fn == TrainerFn.FITTING:
                run.schedule.enabled = _dataloaders.validation_enabled(run)
                run.optimization = Optimization(run)
                run_training(run)
            else:
                self._evaluate()
        except BaseException:
            run.metrics.discard_unmerged()  # the failed step's values never reach the views
            raise

    def _evaluate(self) -> None:
        run = self.run
        loaders, limits = self._request_eval()
        if not sum(limits):
            return
        if self.fn == TrainerFn.PREDICTING:
            run_prediction(run, loaders, limits, False)
            return
        stage = RunningStage.TESTING if self.fn == TrainerFn.TESTING else RunningStage.VALIDATING
        evaluation.run_evaluation(run, stage, loaders, limits)

    def _reached_max(self, size: int) -> bool:
        if size >= self.max_val:
            rank_zero_info(
                f"Reached the maximum batch size limit of {self.max_val}. Stopping search."
            )
            return True
        return False

    # --- the two modes --------------------------------------------------------------------------
    def power(self, new_size: int, max_trials: int) -> int:
        """Double until a trial runs out of memory, then halve once."""
        any_success = False
        for i in range(max_trials):
            garbage_collection_cuda()
            if self._reached_max(new_size):
                break
            try:
                self.trial()
                last_ok = new_size
                if i + 1 >= max_trials:
                    new_size = last_ok
                    break
                new_size, changed = self.adjust(factor=2.0, desc="succeeded")
                if not changed:
                    break
                self.reset_data()
                any_success = True
            except RuntimeError as exception:
                if not is_oom_error(exception):
                    raise
                garbage_collection_cuda()
                new_size, _ = self.adjust(factor=0.5, desc="failed")
                self.reset_data()
                if any_success:
                    break
        return new_size

    def binsearch(self, new_size: int, max_trials: int, margin: float) -> int:
        """Double until a trial fails, then bisect between the last success and the failure."""
        low, high, count = 1, None, 0
        while True:
            garbage_collection_cuda()
            if self._reached_max(new_size):
                break
            try:
                self.trial()
                last_ok = new_size
                count += 1
                if count >= max_trials:
                    new_size = last_ok
                    break
                low = new_size
                if high:
                    if high - low <= 1:
                        break
                    new_size, changed = self.adjust(
                        value=(high + low) // 2, desc="succeeded", cap=self.max_val
                    )
                else:
                    new_size, changed = self.adjust(factor=2.0, desc="succeeded", cap=self.max_val)
                if not changed:
                    break
                self.reset_data()
            except RuntimeError as exception:
                if not is_oom_error(exception):
                    raise
                garbage_collection_cuda()
                high = new_size
                new_size, _ = self.adjust(value=(high + low) // 2, desc="failed")
                self.reset_data()
                if high - low <= 1:
                    break
        if margin > 0:
            reduced = max(1, int(new_size * (1 - margin)))
            if reduced != new_size:
                rank_zero_info(
                    f"Applying margin of {margin:.1%}, reducing batch size from {new_size} to"
                    f" {reduced}"
                )
                new_size = reduced
                lightning_setattr(self.run.lightning_module, self.name, new_size)
        return new_size
