"""``Trainer``: runs a LightningModule's fit, validate, test and predict loops.

One process::

    trainer = plkit.Trainer(max_epochs=10)
    trainer.fit(model, datamodule=dm)

Several processes on one machine (re-runs ``python train.py`` once per extra rank)::

    trainer = plkit.Trainer(accelerator="cpu", strategy="ddp", devices=2)

Under torchrun or SLURM the processes already exist and the Trainer joins them; two nodes::

    MASTER_ADDR=host0 MASTER_PORT=29500 NODE_RANK=0 python train.py   # on host0
    MASTER_ADDR=host0 MASTER_PORT=29500 NODE_RANK=1 python train.py   # on host1
    # with Trainer(strategy="ddp", num_nodes=2, devices=...)

The constructor only stores and validates; flags are resolved by :func:`plkit._flags.resolve_plan`
and placcel's ``build_strategy``. The loops live in :mod:`plkit.loops`.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, Union

import torch

from placcel import Accelerator, ClusterEnvironment, Precision, Strategy
from plcore import Callback, LightningDataModule, LightningModule
from plcore.checkpoint import CheckpointIO, TorchCheckpointIO
from plcore.hooks import is_overridden
from plcore.optimizer import LightningOptimizer
from plcore.utilities import cloud_io
from plcore.utilities.rank_zero import rank_zero_only
from plkit import _checkpointing, _console, _dataloaders, _entry, _profiling, _setup, _spawn
from plkit._calls import HookCaller
from plkit._fit_loop import FitLoop, replace_plan
from plkit._flags import resolve_plan
from plkit._logging import MetricsHub
from plkit._optimizers import LRSchedulerConfig
from plkit._preemption import Preemption
from plkit._progress import FitProgress
from plkit._runstate import EntryArgs, PredictLoop, RunState
from plkit._state import RunningStage, TrainerFn, TrainerState, TrainerStatus
from plkit.profilers import Profiler
from pllog import Logger

if TYPE_CHECKING:
    from plkit.callbacks import EarlyStopping, ModelCheckpoint

__all__ = ["Trainer"]

# The values ``precision`` takes, typed as Lightning types them: LightningCLI (jsonargparse) reads
# the annotations, so ``--trainer.precision=16`` parses to the int 16 as under Lightning.
_PRECISION_INPUT = Union[
    Literal[64, 32, 16],
    Literal["16-true", "16-mixed", "bf16-true", "bf16-mixed", "32-true", "64-true"],
    Literal["64", "32", "16", "bf16"],
]
# ``plugins``, ``profiler``, ``max_time`` and ``val_check_interval`` are typed as Lightning types
# them too, so the CLI offers the same flags (``--trainer.profiler.help``, ``class_path`` configs).
_PLUGIN_INPUT = Union[Precision, ClusterEnvironment, CheckpointIO]

#: The stage ``trainer.state.stage`` holds from the start of each entry point (Lightning's).
_STAGE_OF = {
    TrainerFn.FITTING: RunningStage.TRAINING,
    TrainerFn.VALIDATING: RunningStage.VALIDATING,
    TrainerFn.TESTING: RunningStage.TESTING,
    TrainerFn.PREDICTING: RunningStage.PREDICTING,
}


class Trainer:
    """Automates the loops of a LightningModule (Lightning 2.x flags and behaviour).

    Args:
        accelerator: "cpu", "gpu"/"cuda", "mps", "auto" or an Accelerator.
        strategy: "auto", "single_device", "ddp", "ddp_spawn" or a Strategy.
        devices: number of devices, a list of ids, "0,1", "auto" or -1 (all).
        num_nodes: number of machines.
        precision: "32-true", "64-true", "16-mixed", "bf16-mixed", "16-true" or "bf16-true".
        logger: True (TensorBoard), False, a logger or a list of loggers.
        callbacks: a Callback or a list of them.
        fast_dev_run: run N (True: 1) batches of each loop as a smoke test; no logs, no checkpoints.
        max_epochs: stop after this many epochs (default 1000 when max_steps is -1 too; -1: none).
        min_epochs: do not stop early before this many epochs.
        max_steps: stop after this many optimizer steps (-1: no limit).
        min_steps: do not stop early before this many optimizer steps.
        max_time: stop after this long ("DD:HH:MM:SS", timedelta or dict): adds a Timer.
        limit_train_batches: batches per training epoch (int) or fraction (float).
        limit_val_batches: likewise for validation.
        limit_test_batches: likewise for test.
        limit_predict_batches: likewise for predict.
        overfit_batches: train and validate on this many (fraction of) training batches, unshuffled.
        val_check_interval: validate every fraction of an epoch (float), every N batches (int),
            or every so long ("DD:HH:MM:SS", timedelta or dict).
        check_val_every_n_epoch: validate every N epochs (None: by val_check_interval only).
        num_sanity_val_steps: validation batches run before training (-1: all).
        log_every_n_steps: write step metrics every N optimizer steps.
        enable_checkpointing: add a ModelCheckpoint when none is given.
        enable_progress_bar: show a progress bar.
        enable_model_summary: print a summary of the model at fit start.
        accumulate_grad_batches: batches per optimizer step.
        gradient_clip_val: clip gradients at this value (None: no clipping).
        gradient_clip_algorithm: "norm", "value", or None (the default: by norm).
        deterministic: True, False or "warn" (torch.use_deterministic_algorithms).
        benchmark: cudnn.benchmark.
        inference_mode: evaluate under torch.inference_mode (else torch.no_grad).
        use_distributed_sampler: add a DistributedSampler to loaders when several processes run.
        profiler: time the run's hooks and steps: "simple", "advanced", "pytorch" or a
            ``plkit.profilers.Profiler`` (None: nothing is timed); see ``trainer.profiler``.
        detect_anomaly: enable autograd anomaly detection during fit.
        barebones: turn off every feature that costs time per step (logs, checkpoints, bars).
        plugins: a Precision and/or a CheckpointIO (``plkit.plugins``), one or a list.
        sync_batchnorm: convert BatchNorm layers to SyncBatchNorm under DDP.
        reload_dataloaders_every_n_epochs: ask for new dataloaders every N epochs.
        default_root_dir: where logs and checkpoints go (default: the working directory); a URL
            such as ``s3://bucket/run`` writes them there through fsspec.
        enable_autolog_hparams: whether the loggers get the module's and datamodule's
            hyper-parameters (``log_hyperparams``, the graph, ``save``) when a run starts.
        model_registry: the model name Lightning's model registry (``litmodels``) would use;
            kept as ``trainer._model_registry``, as Lightning does without ``litmodels``.
        resume: "auto" to resume from the newest checkpoint under ``default_root_dir`` when fit
            is called without ``ckpt_path`` (plkit's addition; None: off).
    """

    def __init__(
        self,
        *,
        accelerator: str | Accelerator = "auto",
        strategy: str | Strategy = "auto",
        devices: list[int] | str | int = "auto",
        num_nodes: int = 1,
        precision: _PRECISION_INPUT | None = None,
        logger: Logger | Iterable[Logger] | bool | None = None,
        callbacks: list[Callback] | Callback | None = None,
        fast_dev_run: int | bool = False,
        max_epochs: int | None = None,
        min_epochs: int | None = None,
        max_steps: int = -1,
        min_steps: int | None = None,
        max_time: str | timedelta | dict[str, int] | None = None,
        limit_train_batches: float | int | None = None,
        limit_val_batches: float | int | None = None,
        limit_test_batches: float | int | None = None,
        limit_predict_batches: float | int | None = None,
        overfit_batches: int | float = 0.0,
        val_check_interval: int | float | str | timedelta | dict[str, int] | None = None,
        check_val_every_n_epoch: int | None = 1,
        num_sanity_val_steps: int | None = None,
        log_every_n_steps: int | None = None,
        enable_checkpointing: bool | None = None,
        enable_progress_bar: bool | None = None,
        enable_model_summary: bool | None = None,
        accumulate_grad_batches: int = 1,
        gradient_clip_val: float | int | None = None,
        gradient_clip_algorithm: str | None = None,
        deterministic: bool | str | None = None,
        benchmark: bool | None = None,
        inference_mode: bool = True,
        use_distributed_sampler: bool = True,
        profiler: Profiler | str | None = None,
        detect_anomaly: bool = False,
        barebones: bool = False,
        plugins: _PLUGIN_INPUT | list[_PLUGIN_INPUT] | None = None,
        sync_batchnorm: bool = False,
        reload_dataloaders_every_n_epochs: int = 0,
        default_root_dir: str | os.PathLike | None = None,
        enable_autolog_hparams: bool = True,
        model_registry: str | None = None,
        resume: str | None = None,
    ) -> None:
        self._plan = resolve_plan(
            fast_dev_run=fast_dev_run,
            max_epochs=max_epochs,
            min_epochs=min_epochs,
            max_steps=max_steps,
            min_steps=min_steps,
            max_time=max_time,
            limit_train_batches=limit_train_batches,
            limit_val_batches=limit_val_batches,
            limit_test_batches=limit_test_batches,
            limit_predict_batches=limit_predict_batches,
            overfit_batches=overfit_batches,
            val_check_interval=val_check_interval,
            check_val_every_n_epoch=check_val_every_n_epoch,
            num_sanity_val_steps=num_sanity_val_steps,
            log_every_n_steps=log_every_n_steps,
            enable_checkpointing=enable_checkpointing,
            enable_progress_bar=enable_progress_bar,
            enable_model_summary=enable_model_summary,
            accumulate_grad_batches=accumulate_grad_batches,
            gradient_clip_val=gradient_clip_val,
            gradient_clip_algorithm=gradient_clip_algorithm,
            deterministic=deterministic,
            benchmark=benchmark,
            inference_mode=inference_mode,
            use_distributed_sampler=use_distributed_sampler,
            detect_anomaly=detect_anomaly,
            barebones=barebones,
            reload_dataloaders_every_n_epochs=reload_dataloaders_every_n_epochs,
            logger=logger,
        )
        self._fast_dev_run = fast_dev_run  # as given (True, an int or False), like Lightning
        _setup.check_unsupported(resume=resume)
        _profiling.check_barebones(profiler, self._plan.barebones)
        _setup.check_types(default_root_dir=default_root_dir, sync_batchnorm=sync_batchnorm)
        _setup.attach_log_handler()
        if self._plan.barebones:
            _setup.announce_barebones()
        _setup.apply_determinism(self._plan.deterministic, self._plan.benchmark)
        precision_plugin, checkpoint_io = _setup.split_plugins(plugins)
        if precision_plugin is not None:
            precision = precision_plugin
        self.strategy = _setup.strategy_from_flags(
            accelerator=accelerator,
            strategy=strategy,
            devices=devices,
            num_nodes=num_nodes,
            precision="32-true" if precision is None else precision,
            sync_batchnorm=sync_batchnorm,
            checkpoint_io=checkpoint_io or TorchCheckpointIO(),
        )
        self._default_root_dir = (
            cloud_io.check_path(default_root_dir, "Trainer(default_root_dir=...)")
            if default_root_dir
            else os.getcwd()
        )
        self._loggers = _setup.build_loggers(logger, self._plan, self._default_root_dir)
        self._callbacks = _setup.build_callbacks(callbacks, self._plan)
        _console.construction_messages(
            self,
            callbacks=_setup._as_callback_list(callbacks),
            enable_model_summary=enable_model_summary,
            detect_anomaly=detect_anomaly,
            fast_dev_run=self._plan.fast_dev_run,
            overfit_batches=overfit_batches,
            limits={
                "limit_train_batches": limit_train_batches,
                "limit_val_batches": limit_val_batches,
                "limit_test_batches": limit_test_batches,
                "limit_predict_batches": limit_predict_batches,
                "val_check_interval": val_check_interval,
            },
        )
        #: The profiler (a ``PassThroughProfiler`` when none was asked for); made after the
        #: device lines are printed, as in Lightning.
        self.profiler = _profiling.init_profiler(profiler)
        self._resume = resume
        self.enable_autolog_hparams = enable_autolog_hparams
        self._model_registry = model_registry.split(":")[0] if model_registry else None
        progress = FitProgress()
        #: The current (or last) run; entry points replace it (see plkit._runstate).
        self._runstate = RunState(
            plan=self._plan,
            strategy=self.strategy,
            trainer=self,
            metrics=MetricsHub(self, progress),
            progress=progress,
        )

    # ======================================================================================
    # entry points
    # ======================================================================================
    def fit(
        self,
        model: LightningModule,
        train_dataloaders: Any = None,
        val_dataloaders: Any = None,
        datamodule: LightningDataModule | None = None,
        ckpt_path: str | os.PathLike | None = None,
        weights_only: bool | None = None,
    ) -> None:
        """Train the model (with validation as the flags schedule it).

        The data comes from the dataloaders given, else the datamodule, else the model's own
        dataloader hooks.

        Args:
            model: the LightningModule to train.
            train_dataloaders: a DataLoader, a collection of them, or a LightningDataModule.
            val_dataloaders: a DataLoader or a list of them for validation.
            datamodule: a LightningDataModule that provides the dataloaders.
            ckpt_path: a checkpoint to resume from: a path or URL, "last" (the latest one
                saved) or "best" (the best one of a previous fit).
            weights_only: how the checkpoint is read: None uses the checkpoint IO's safe
                default; False unpickles any object (only for files you trust).
        """
        if isinstance(
            train_dataloaders, LightningDataModule
        ):  # trainer.fit(model, dm), as Lightning allows
            train_dataloaders, datamodule = None, train_dataloaders
        self._run(
            TrainerFn.FITTING,
            model,
            datamodule,
            ckpt_path,
            train=train_dataloaders,
            val=val_dataloaders,
            weights_only=weights_only,
        )

    def validate(
        self,
        model: LightningModule | None = None,
        dataloaders: Any = None,
        ckpt_path: str | os.PathLike | None = None,
        verbose: bool = True,
        datamodule: LightningDataModule | None = None,
        weights_only: bool | None = None,
    ) -> list[dict[str, float]]:
        """Run one evaluation epoch over the validation data.

        Args:
            model: the LightningModule to validate; None uses the model of the last fit.
            dataloaders: a DataLoader, a list of them, or a LightningDataModule.
            ckpt_path: the weights to validate: a path or URL, "best" (the best checkpoint of the
                last fit), "last", or None (the model's current weights; "best" when no model
                is given after a fit).
            verbose: print the results table.
            datamodule: a LightningDataModule that provides the dataloaders.
            weights_only: how the checkpoint is read: None uses the checkpoint IO's safe
                default; False unpickles any object (only for files you trust).

        Returns:
            One dict of logged metrics per dataloader.
        """
        if isinstance(dataloaders, LightningDataModule):
            dataloaders, datamodule = None, dataloaders
        return self._run(
            TrainerFn.VALIDATING,
            model,
            datamodule,
            ckpt_path,
            val=dataloaders,
            verbose=verbose,
            weights_only=weights_only,
        )

    def test(
        self,
        model: LightningModule | None = None,
        dataloaders: Any = None,
        ckpt_path: str | os.PathLike | None = None,
        verbose: bool = True,
        datamodule: LightningDataModule | None = None,
        weights_only: bool | None = None,
    ) -> list[dict[str, float]]:
        """Run one evaluation epoch over the test data.

        Args:
            model: the LightningModule to test; None uses the model of the last fit.
            dataloaders: a DataLoader, a list of them, or a LightningDataModule.
            ckpt_path: the weights to test: a path or URL, "best" (the best checkpoint of the
                last fit), "last", or None (the model's current weights; "best" when no model
                is given after a fit).
            verbose: print the results table.
            datamodule: a LightningDataModule that provides the dataloaders.
            weights_only: how the checkpoint is read: None uses the checkpoint IO's safe
                default; False unpickles any object (only for files you trust).

        Returns:
            One dict of logged metrics per dataloader.
        """
        if isinstance(dataloaders, LightningDataModule):
            dataloaders, datamodule = None, dataloaders
        return self._run(
            TrainerFn.TESTING,
            model,
            datamodule,
            ckpt_path,
            test=dataloaders,
            verbose=verbose,
            weights_only=weights_only,
        )

    def predict(
        self,
        model: LightningModule | None = None,
        dataloaders: Any = None,
        datamodule: LightningDataModule | None = None,
        return_predictions: bool | None = None,
        ckpt_path: str | os.PathLike | None = None,
        weights_only: bool | None = None,
    ) -> list[Any] | None:
        """Run the model's predict_step over the data and collect the predictions.

        Args:
            model: the LightningModule to predict with; None uses the model of the last fit.
            dataloaders: a DataLoader, a list of them, or a LightningDataModule.
            datamodule: a LightningDataModule that provides the predict dataloader.
            return_predictions: keep and return the predictions (None: yes).
            ckpt_path: the weights to predict with: a path or URL, "best", "last", or None
                (the model's current weights; "best" when no model is given after a fit).
            weights_only: how the checkpoint is read: None uses the checkpoint IO's safe
                default; False unpickles any object (only for files you trust).

        Returns:
            The predictions (a list per dataloader if there are several), or None when
            return_predictions is False.
        """
        if isinstance(dataloaders, LightningDataModule):
            dataloaders, datamodule = None, dataloaders
        return self._run(
            TrainerFn.PREDICTING,
            model,
            datamodule,
            ckpt_path,
            predict=dataloaders,
            return_predictions=True if return_predictions is None else return_predictions,
            weights_only=weights_only,
        )

    # ======================================================================================
    # running
    # ======================================================================================
    def _run(
        self,
        fn: TrainerFn,
        model: LightningModule | None,
        datamodule: LightningDataModule | None,
        ckpt_path: Any,
        **data: Any,
    ) -> Any:
        previous = self._runstate
        # No model given, the previous call's reused: evaluation then loads its best checkpoint.
        connected_only = model is None and previous.module is not None
        model = _setup.check_model(self, fn, model, datamodule)
        if self._plan.barebones:  # no progress bar: say that the run has started
            _console.info(
                "`Trainer(barebones=True)` started running. The progress bar is disabled so you"
                " might want to manually print the progress in your model."
            )
        args = EntryArgs(fn=fn, datamodule=datamodule, model_connected_only=connected_only, **data)
        # As in Lightning, ``trainer.datamodule`` stays from an earlier call when none is given
        # (its prepare_data / setup / teardown still run); loaders and batch-transfer hooks come
        # only from the datamodule given to this call (``args.datamodule``).
        run = self._runstate = previous.next(self._plan, args, model)
        run.state = TrainerState(status=TrainerStatus.RUNNING, fn=fn, stage=_STAGE_OF[fn])
        if datamodule is not None:
            datamodule.trainer = self
        model.trainer = self
        # Before the launcher starts other ranks, so that its SIGTERM forwarding chains to ours.
        run.preemption.install()
        try:
            return self._launch(ckpt_path)
        finally:
            run.preemption.uninstall()

    def _launch(self, ckpt_path: Any) -> Any:
        launcher = self.strategy.launcher
        if launcher is None:
            return self._run_in_process(ckpt_path)
        if not getattr(launcher, "start_method", None):  # re-runs the script: we are rank 0
            return launcher.launch(self._run_in_process, ckpt_path)
        # spawn / fork: the ranks run on copies; bring rank 0's results back into this process
        outcome = launcher.launch(_run_spawned, self, ckpt_path)
        return _spawn.adopt_spawned_outcome(self._runstate, outcome)

    def _run_in_process(self, ckpt_path: Any) -> Any:
        run = self._runstate
        try:
            self.strategy.setup_environment()
            rank_zero_only.rank = self.global_rank
            _console.cuda_device_notes(self)
            result = _entry.run_stage(run, ckpt_path)
        except KeyboardInterrupt as err:
            # As Lightning: say so, ignore further Ctrl+C while shutting down, exit with status 1.
            _console.info("\nDetected KeyboardInterrupt, attempting graceful shutdown ...")
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            _entry.interrupt(run, err)
            sys.exit(1)
        except BaseException as err:
            _setup.explain_torch_error(err)
            _entry.interrupt(run, err)
            run.state.stage = None  # after the teardown, as in Lightning
            raise
        run.state.stage = None
        if run.preempted:
            run.state.status = TrainerStatus.INTERRUPTED
            raise SystemExit(128 + int(run.preemption.received or 15))
        run.state.status = TrainerStatus.FINISHED
        return result

    # --- what a LightningModule calls (plcore.interfaces) -----------------------------------
    @property
    def lightning_optimizers(self) -> list[LightningOptimizer]:
        """The optimizers as the module sees them (``self.optimizers()``): each ``step`` runs
        the precision, the hooks, clipping and the step count."""
        return self._runstate.optim.lightning_optimizers

    def manual_backward(self, loss: torch.Tensor, *args: Any, **kwargs: Any) -> None:
        """What ``LightningModule.manual_backward`` runs: hooks around the strategy's backward."""
        optimization = self._runstate.optimization
        if optimization is None:
            raise RuntimeError(
                "manual_backward runs inside trainer.fit (in training_step); call it there."
            )
        optimization.manual_backward(loss, *args, **kwargs)

    # ======================================================================================
    # checkpoints
    # ======================================================================================
    def save_checkpoint(
        self,
        filepath: str | os.PathLike,
        weights_only: bool | None = None,
        storage_options: Any = None,
    ) -> None:
        """Write a checkpoint of the current state (rank 0 writes, every rank must call);
        ``filepath`` may be a URL (``s3://...``, see docs/checkpoints.md#remote-storage).
        ``weights_only=None`` is False, said on the console as Lightning does."""
        if self._runstate.module is None:
            raise RuntimeError("save_checkpoint needs a model: call fit / validate / test first.")
        if storage_options is not None:
            raise TypeError("storage_options is not supported by the default checkpoint writer.")
        if weights_only is None:  # Lightning's default, and its message
            weights_only = False
            _console.info("`weights_only` was not set, defaulting to `False`.")
        with self.profiler.profile("save_checkpoint"):
            checkpoint = _checkpointing.dump_checkpoint(self._runstate, weights_only)
            self.strategy.save_checkpoint(checkpoint, os.fspath(filepath))
            self.strategy.barrier("save_checkpoint")

    @contextlib.contextmanager
    def init_module(self, empty_init: bool | None = None) -> Iterator[None]:
        """Build the model inside this block to create its tensors on the device right away.

        ``empty_init=True`` skips the weights' initialisation (for a model whose weights come
        from a checkpoint); under FSDP the model is built on the meta device and each rank
        allocates and initialises only its shards when fit shards it, so it is never whole.

        Args:
            empty_init: skip initialisation (None: the strategy decides, i.e. initialise).
        """
        with self.strategy.tensor_init_context(empty_init=empty_init):
            yield

    # ======================================================================================
    # state a user reads (Lightning 2.x names)
    # ======================================================================================
    @property
    def state(self) -> TrainerState:
        """``fn`` (the entry point), ``stage`` (the loop) and ``status`` of the current run."""
        return self._runstate.state

    @state.setter
    def state(self, state: TrainerState) -> None:
        self._runstate.state = state

    @property
    def should_stop(self) -> bool:
        """Set it to stop fit at the next chance (once ``min_epochs`` / ``min_steps`` are met)."""
        return self._runstate.should_stop

    @should_stop.setter
    def should_stop(self, value: bool) -> None:
        self._runstate.should_stop = value

    @property
    def datamodule(self) -> LightningDataModule | None:
        """The datamodule of the current call, or the one an earlier call was given."""
        return self._runstate.datamodule

    @datamodule.setter
    def datamodule(self, datamodule: LightningDataModule | None) -> None:
        self._runstate.datamodule = datamodule

    @property
    def ckpt_path(self) -> str | None:
        """The checkpoint the current (or last) entry point loaded, if any."""
        return self._runstate.ckpt_path

    @ckpt_path.setter
    def ckpt_path(self, path: str | None) -> None:
        self._runstate.ckpt_path = path

    @property
    def optimizers(self) -> list[torch.optim.Optimizer]:
        """The optimizers ``configure_optimizers`` returned (during and after fit)."""
        return self._runstate.optim.optimizers

    @optimizers.setter
    def optimizers(self, optimizers: list[torch.optim.Optimizer]) -> None:
        self._runstate.optim.optimizers = list(optimizers)

    @property
    def lr_scheduler_configs(self) -> list[LRSchedulerConfig]:
        """The learning-rate schedulers with when to step them (interval, frequency, monitor)."""
        return self._runstate.optim.lr_scheduler_configs

    @lr_scheduler_configs.setter
    def lr_scheduler_configs(self, configs: list[LRSchedulerConfig]) -> None:
        self._runstate.optim.lr_scheduler_configs = list(configs)

    @property
    def num_training_batches(self) -> int | float:
        """Training batches per epoch after ``limit_train_batches`` (``inf``: no length)."""
        return self._runstate.loaders.num_training_batches

    @num_training_batches.setter
    def num_training_batches(self, value: int | float) -> None:
        self._runstate.loaders.num_training_batches = value

    @property
    def num_test_batches(self) -> list[int | float]:
        """Test batches per dataloader."""
        return self._runstate.loaders.test_batches

    @num_test_batches.setter
    def num_test_batches(self, value: list[int | float]) -> None:
        self._runstate.loaders.test_batches = value

    @property
    def num_predict_batches(self) -> list[int | float]:
        """Prediction batches per dataloader."""
        return self._runstate.loaders.predict_batches

    @num_predict_batches.setter
    def num_predict_batches(self, value: list[int | float]) -> None:
        self._runstate.loaders.predict_batches = value

    @property
    def val_check_batch(self) -> int | float | None:
        """Validate after every this many training batches (``inf``: at the epoch's end)."""
        return self._runstate.schedule.val_check_batch

    @val_check_batch.setter
    def val_check_batch(self, value: int | float | None) -> None:
        self._runstate.schedule.val_check_batch = value

    @property
    def batches_that_stepped(self) -> int:
        """Training batches that ended an optimizer step (an accumulation window, or any batch
        under manual optimization): the step axis the Trainer's own logger writes use."""
        return self._runstate.progress.batches_that_stepped

    @property
    def validates_once_per_epoch(self) -> bool:
        """Whether the flags ask for one validation at each epoch's end
        (``val_check_interval=1.0``, ``check_val_every_n_epoch=1``): then ModelCheckpoint and
        EarlyStopping act when the training epoch ends, else right after each validation."""
        return self._runstate.schedule.once_per_epoch

    @property
    def resume(self) -> str | None:
        """The ``resume`` flag (``"auto"``: fit without ``ckpt_path`` resumes the newest
        checkpoint under ``default_root_dir``)."""
        return self._resume

    @property
    def lightning_module(self) -> LightningModule:
        """The LightningModule of the current (or last) run."""
        return self._runstate.module  # type: ignore[return-value]

    @property
    def model(self) -> Any:
        """The module as the strategy wraps it (e.g. DistributedDataParallel)."""
        run = self._runstate
        return run.wrapped_module if run.wrapped_module is not None else run.module

    @property
    def current_epoch(self) -> int:
        """The epoch being trained (after fit: the number of epochs completed)."""
        return self._runstate.progress.epoch

    @property
    def global_step(self) -> int:
        """Optimizer steps taken so far (each optimizer's step counts in manual optimization)."""
        return self._runstate.progress.global_step

    @property
    def callback_metrics(self) -> dict[str, torch.Tensor]:
        """The latest logged values, tensors keyed by name; what callbacks monitor."""
        metrics = self._runstate.metrics
        metrics.flush()
        return metrics.callback_metrics

    @property
    def logged_metrics(self) -> dict[str, torch.Tensor]:
        """The values last sent (or due) to the loggers, tensors keyed by name."""
        metrics = self._runstate.metrics
        metrics.flush()
        return metrics.logged_metrics

    @property
    def progress_bar_metrics(self) -> dict[str, float]:
        """The values shown in the progress bar, as Python floats."""
        metrics = self._runstate.metrics
        metrics.flush()
        return metrics.progress_bar_metrics()

    @property
    def callbacks(self) -> list[Callback]:
        """The callbacks in the order hooks run (checkpoint callbacks last)."""
        return self._callbacks

    @property
    def loggers(self) -> list[Any]:
        """The loggers (an empty list when logging is off)."""
        return self._loggers

    @loggers.setter
    def loggers(self, loggers: list[Any] | None) -> None:
        self._loggers = list(loggers or [])

    @property
    def logger(self) -> Any:
        """The first logger, or None."""
        return self._loggers[0] if self._loggers else None

    @logger.setter
    def logger(self, logger: Any) -> None:
        self._loggers = [] if logger is None else [logger]

    @property
    def log_dir(self) -> str | None:
        """The first logger's folder (its ``log_dir`` or ``save_dir``), else ``default_root_dir``."""
        if not self._loggers:
            return self._default_root_dir
        first = self._loggers[0]
        return getattr(first, "log_dir", None) or getattr(first, "save_dir", None)

    @property
    def default_root_dir(self) -> str:
        """Where logs and checkpoints go when no other folder is given."""
        return self._default_root_dir

    @property
    def checkpoint_callbacks(self) -> list[ModelCheckpoint]:
        """Every Checkpoint callback (ModelCheckpoint, OnExceptionCheckpoint) among the callbacks."""
        found = [
            cb
            for cb in self._callbacks
            if type(cb).__name__ == "ModelCheckpoint" or _is_a(cb, "Checkpoint")
        ]
        return found  # type: ignore[return-value]

    @property
    def checkpoint_callback(self) -> ModelCheckpoint | None:
        """The first ModelCheckpoint, or None."""
        found = self.checkpoint_callbacks
        return found[0] if found else None

    @property
    def early_stopping_callbacks(self) -> list[EarlyStopping]:
        """Every EarlyStopping among the callbacks."""
        found = [cb for cb in self._callbacks if _is_a(cb, "EarlyStopping")]
        return found  # type: ignore[return-value]

    @property
    def early_stopping_callback(self) -> EarlyStopping | None:
        """The first EarlyStopping, or None."""
        found = self.early_stopping_callbacks
        return found[0] if found else None

    @property
    def predict_loop(self) -> PredictLoop:
        """What ``trainer.predict`` collected: ``predictions``, ``epoch_batch_indices`` and
        ``current_batch_indices`` (the latter two for prediction writers), as Lightning names them."""
        return self._runstate.predict_loop

    @property
    def progress_bar_callback(self) -> Callback | None:
        """The progress bar callback, or None when the bar is off."""
        return next((cb for cb in self._callbacks if _is_a(cb, "ProgressBar")), None)

    @property
    def num_val_batches(self) -> list[int | float]:
        """Validation batches per dataloader: ``trainer.validate``'s while it runs (or after it),
        else fit's validation (what Lightning reports)."""
        loaders = self._runstate.loaders
        if self.state.fn == TrainerFn.VALIDATING:
            return loaders.validate_batches
        return loaders.fit_val_batches

    @num_val_batches.setter
    def num_val_batches(self, value: list[int | float]) -> None:
        if self.state.fn == TrainerFn.VALIDATING:
            self._runstate.loaders.validate_batches = value
        else:
            self._runstate.loaders.fit_val_batches = value

    @property
    def num_sanity_val_batches(self) -> list[int | float]:
        """The sanity check's batches per dataloader: fit's validation capped by
        ``num_sanity_val_steps``."""
        return _dataloaders.sanity_batches(self._runstate)

    @property
    def sanity_checking(self) -> bool:
        """Whether the sanity check (validation before training) is running."""
        return self.state.stage == RunningStage.SANITY_CHECKING

    @property
    def training(self) -> bool:
        """Whether the training loop is running."""
        return self.state.stage == RunningStage.TRAINING

    @property
    def validating(self) -> bool:
        """Whether a validation loop is running (during fit or validate)."""
        return self.state.stage == RunningStage.VALIDATING

    @property
    def testing(self) -> bool:
        """Whether the test loop is running."""
        return self.state.stage == RunningStage.TESTING

    @property
    def predicting(self) -> bool:
        """Whether the prediction loop is running."""
        return self.state.stage == RunningStage.PREDICTING

    @property
    def interrupted(self) -> bool:
        """Whether the last run ended by an exception, Ctrl+C or preemption."""
        return self.state.status == TrainerStatus.INTERRUPTED

    @property
    def estimated_stepping_batches(self) -> float:
        """Optimizer steps the fit will take (``max_steps``, or epochs times steps per epoch)."""
        plan = self._plan
        if plan.max_epochs == -1:
            return math.inf if plan.max_steps == -1 else plan.max_steps
        run = self._runstate
        if run.loaders.train is None:
            # (printed also when there is nothing to load: no model yet, or no training_step)
            _console.info("Loading `train_dataloader` to estimate number of stepping batches.")
            if (
                plan.limit_train_batches != 0  # as Lightning: no batches, no loader requested
                and run.module is not None
                and is_overridden(run.module, "training_step", LightningModule)
            ):
                if run.calls is None:  # the run failed before its hooks were set up
                    run.calls = HookCaller(self, run.module, self.callbacks, run.datamodule)
                _dataloaders.setup_train_data(run)
        if self.num_training_batches == math.inf:
            return plan.max_steps
        per_epoch = math.ceil(self.num_training_batches / plan.accumulate_grad_batches)
        estimate = per_epoch * max(plan.max_epochs or 0, 1)  # None before the first fit
        return estimate if plan.max_steps == -1 else min(estimate, plan.max_steps)

    # --- processes and devices -------------------------------------------------------------
    @property
    def accelerator(self) -> Any:
        """The Accelerator of the strategy (CPU, CUDA or MPS)."""
        return self.strategy.accelerator

    @property
    def precision(self) -> str:
        """The precision in use, e.g. '32-true' or 'bf16-mixed'."""
        return self.strategy.precision.precision

    @property
    def precision_plugin(self) -> Any:
        """The strategy's Precision (``plkit.plugins.precision``)."""
        return self.strategy.precision

    @property
    def world_size(self) -> int:
        """The number of processes in the run."""
        return self.strategy.world_size

    @property
    def global_rank(self) -> int:
        """This process's rank among all processes."""
        return self.strategy.global_rank

    @property
    def local_rank(self) -> int:
        """This process's rank on its machine."""
        return self.strategy.local_rank

    @property
    def node_rank(self) -> int:
        """The rank of this process's machine."""
        return self.strategy.node_rank

    @property
    def num_nodes(self) -> int:
        """The number of machines."""
        return self.strategy.num_nodes

    @property
    def is_global_zero(self) -> bool:
        """Whether this is global rank 0 (the process that writes files)."""
        return self.strategy.is_global_zero

    @property
    def num_devices(self) -> int:
        """The number of devices per machine."""
        return len(self.device_ids)

    @property
    def device_ids(self) -> list[int]:
        """The indices of the devices this run uses on each machine."""
        return [
            d.index if d.index is not None else i
            for i, d in enumerate(self.strategy.parallel_devices)
        ]

    # --- flags, as given --------------------------------------------------------------------
    max_epochs = property(lambda self: self._plan.max_epochs)
    min_epochs = property(lambda self: self._plan.min_epochs)
    max_steps = property(lambda self: self._plan.max_steps)
    min_steps = property(lambda self: self._plan.min_steps)

    @property
    def accumulate_grad_batches(self) -> int:
        """Batches per optimizer step; settable during fit, as in Lightning (read when each
        training epoch starts)."""
        return self._plan.accumulate_grad_batches

    @accumulate_grad_batches.setter
    def accumulate_grad_batches(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(
                f"trainer.accumulate_grad_batches = {value!r}: use an int >= 1 (the number of "
                "batches per optimizer step)."
            )
        replace_plan(self, accumulate_grad_batches=value)

    @property
    def fit_loop(self) -> FitLoop:
        """The running fit's limits a callback may change (``max_epochs``, ``max_batches``,
        ``_skip_backward``; see :mod:`plkit._fit_loop`)."""
        return FitLoop(self)

    gradient_clip_val = property(lambda self: self._plan.gradient_clip_val)
    gradient_clip_algorithm = property(lambda self: self._plan.gradient_clip_algorithm)
    val_check_interval = property(
        lambda self: (
            self._plan.val_check_interval
            if self._plan.val_check_time is None
            else timedelta(seconds=self._plan.val_check_time)
        )  # Lightning: AttributeError
    )
    check_val_every_n_epoch = property(lambda self: self._plan.check_val_every_n_epoch)
    num_sanity_val_steps = property(
        lambda self: _all_if_minus_one(self._plan.num_sanity_val_steps),
        doc="Sanity-check batches per loader (``inf`` for -1: all of them), as Lightning reports.",
    )
    log_every_n_steps = property(lambda self: self._plan.log_every_n_steps)
    fast_dev_run = property(lambda self: self._fast_dev_run)
    barebones = property(lambda self: self._plan.barebones)
    limit_train_batches = property(lambda self: self._plan.limit_train_batches)
    limit_val_batches = property(lambda self: self._plan.limit_val_batches)
    limit_test_batches = property(lambda self: self._plan.limit_test_batches)
    limit_predict_batches = property(lambda self: self._plan.limit_predict_batches)
    overfit_batches = property(lambda self: self._plan.overfit_batches)
    reload_dataloaders_every_n_epochs = property(
        lambda self: self._plan.reload_dataloaders_every_n_epochs
    )

    @property
    def received_sigterm(self) -> bool:
        """Whether a preemption signal (SIGTERM, or SIGUSR1 under SLURM) arrived during fit."""
        return self._runstate.preemption.received is not None

    @property
    def is_last_batch(self) -> bool:
        """Whether the current training batch is the epoch's last (for user-side accumulation)."""
        return self._runstate.progress.is_last_batch

    @property
    def enable_validation(self) -> bool:
        """Whether fit runs validation (data, a validation_step and batches to run)."""
        run = self._runstate  # as Lightning, from the data the latest entry point was given
        return run.module is not None and _dataloaders.validation_enabled(run)

    @property
    def train_dataloader(self) -> Any:
        """The training dataloader of the current fit, as prepared by the Trainer."""
        return self._runstate.loaders.train

    @property
    def val_dataloaders(self) -> Any:
        """The validation dataloader(s), as prepared by the Trainer."""
        loaders = self._runstate.loaders.val
        return loaders[0] if len(loaders) == 1 else (loaders or None)

    def print(self, *args: Any, **kwargs: Any) -> None:
        """``print`` on global rank 0 only."""
        if self.is_global_zero:
            print(*args, **kwargs)


def _run_spawned(trainer: Trainer, ckpt_path: Any) -> Any:
    """Entry point of a spawned rank (module-level so that it pickles)."""
    run = trainer._runstate
    run.preemption = Preemption()
    run.preemption.install()
    # torch sends tensors to spawned processes in shared memory: without private copies every
    # rank would update the same parameter storage.
    for tensor in [*run.lightning_module.parameters(), *run.lightning_module.buffers()]:
        tensor.data = tensor.data.clone()
    result = trainer._run_in_process(ckpt_path)
    return _spawn.spawned_outcome(run, result)


def _all_if_minus_one(value: int) -> int | float:
    return math.inf if value == -1 else value


def _is_a(obj: Any, class_name: str) -> bool:
    return any(cls.__name__ == class_name for cls in type(obj).__mro__)
