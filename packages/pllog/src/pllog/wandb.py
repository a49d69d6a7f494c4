"""``WandbLogger``: metrics, configs, media and checkpoints in a Weights & Biases run.

The run starts (``wandb.init``) when :attr:`WandbLogger.experiment` is first used; the Trainer
does so when it sets up, before any ``setup`` hook::

    logger = WandbLogger(project="mnist", offline=True)   # files under ./wandb/offline-run-*
    trainer = Trainer(logger=logger)

Offline runs are uploaded later with ``wandb sync``. ``wandb`` is imported when a logger is
built, never by ``import pllog``; install it with ``pip install 'pllog[wandb]'``.
"""

from __future__ import annotations

import os
from argparse import Namespace
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from plcore.utilities.exceptions import MisconfigurationException
from plcore.utilities.rank_zero import rank_zero_only, rank_zero_warn
from pllog._artifacts import checkpoint_metadata, scan_checkpoints
from pllog._extras import require
from pllog._params import add_prefix, convert_params, json_safe, name_callables
from pllog.logger import Logger, rank_zero_experiment

if TYPE_CHECKING:
    import torch

__all__ = ["WandbLogger"]

_STEP_KEY = "trainer/global_step"


class WandbLogger(Logger):
    """Log to `Weights & Biases <https://wandb.ai>`_ (the Lightning 2.x ``WandbLogger``).

    Args:
        name: the run's display name.
        save_dir: the folder wandb writes its ``wandb/`` folder into.
        version: the run id, to resume a run (the same as ``id``; ``version`` wins).
        offline: run offline (``WANDB_MODE=dryrun``); upload later with ``wandb sync``.
        dir: the same as ``save_dir``, used only when ``save_dir`` is None.
        id: the run id (see ``version``).
        anonymous: let runs be logged without a W&B account.
        project: the project; None uses ``WANDB_PROJECT`` or ``"lightning_logs"``.
        log_model: upload the checkpoints that ``ModelCheckpoint`` writes as ``model``
            artifacts: ``"all"`` as each is saved; ``True`` when training ends (as each is saved
            with ``save_top_k=-1``); ``False`` never. Not allowed together with ``offline``.
        experiment: a wandb run to use instead of starting one.
        prefix: put in front of every metric name, joined with ``"-"``.
        checkpoint_name: the name of the checkpoint artifact (default ``model-<run id>``).
        add_file_policy: ``"mutable"`` copies each checkpoint before uploading it;
            ``"immutable"`` uploads the file in place.
        **kwargs: passed to ``wandb.init`` (``entity``, ``group``, ``tags``, ``config``, ...).

    Raises:
        ModuleNotFoundError: when wandb is not installed.
        MisconfigurationException: when both ``log_model`` and ``offline`` are set.
    """

    LOGGER_JOIN_CHAR = "-"

    def __init__(
        self,
        name: str | None = None,
        save_dir: str | os.PathLike[str] = ".",
        version: str | None = None,
        offline: bool = False,
        dir: str | os.PathLike[str] | None = None,
        id: str | None = None,
        anonymous: bool | None = None,
        project: str | None = None,
        log_model: Literal["all"] | bool = False,
        experiment: Any = None,
        prefix: str = "",
        checkpoint_name: str | None = None,
        add_file_policy: Literal["mutable", "immutable"] = "mutable",
        **kwargs: Any,
    ) -> None:
        require("wandb", "wandb", "WandbLogger")
        if offline and log_model:
            raise MisconfigurationException(
                f"Providing log_model={log_model} and offline={offline} is an invalid configuration"
                " since model checkpoints cannot be uploaded in offline mode.\n"
                "Hint: Set `offline=False` to log your model."
            )
        super().__init__()
        self._offline = offline
        self._log_model = log_model
        self._prefix = prefix
        self._experiment = experiment
        self._logged_model_time: dict[str, float] = {}
        self._checkpoint_callbacks: dict[int, Any] = {}
        self.add_file_policy = add_file_policy
        save_dir_str = None if save_dir is None else os.fspath(save_dir)
        dir_str = None if dir is None else os.fspath(dir)
        project = project or os.environ.get("WANDB_PROJECT", "lightning_logs")
        self._wandb_init: dict[str, Any] = {
            "name": name,
            "project": project,
            "dir": save_dir_str or dir_str,
            "id": version or id,
            "resume": "allow",
            "anonymous": ("allow" if anonymous else None),
        }
        self._wandb_init.update(**kwargs)
        self._project = self._wandb_init.get("project")
        self._save_dir = self._wandb_init.get("dir")
        self._name = self._wandb_init.get("name")
        self._id = self._wandb_init.get("id")
        self._checkpoint_name = checkpoint_name

    def __getstate__(self) -> dict[str, Any]:
        # A spawned worker gets a pickled copy: the run is started here, in the main process,
        # and the copy attaches to it by id.
        _ = self.experiment
        state = self.__dict__.copy()
        if self._experiment is not None:
            state["_id"] = getattr(self._experiment, "id", None)
            state["_attach_id"] = getattr(self._experiment, "_attach_id", None)
            state["_name"] = self._experiment.name
        state["_experiment"] = None
        return state

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The ``wandb`` run, started on first use (rank 0 only).

        A run already in progress in this process (``wandb.run``) is reused, with a warning.
        A new run defines ``trainer/global_step`` as the x-axis of every metric (``global_step``
        when ``sync_tensorboard`` is on).
        """
        if self._experiment is not None:
            return self._experiment
        import wandb

        if self._offline:
            os.environ["WANDB_MODE"] = "dryrun"
        attach_id = getattr(self, "_attach_id", None)
        if wandb.run is not None:
            rank_zero_warn(
                "There is a wandb run already in progress and newly created instances of"
                " `WandbLogger` will reuse this run. If this is not desired, call `wandb.finish()`"
                " before instantiating `WandbLogger`."
            )
            self._experiment = wandb.run
        elif attach_id is not None and hasattr(wandb, "_attach"):
            self._experiment = wandb._attach(attach_id)
        else:
            self._experiment = wandb.init(**self._wandb_init)
            define_metric = getattr(self._experiment, "define_metric", None)
            if define_metric is not None:
                if self._wandb_init.get("sync_tensorboard"):
                    define_metric("*", step_metric="global_step")
                else:
                    define_metric(_STEP_KEY)
                    define_metric("*", step_metric=_STEP_KEY, step_sync=True)
        return self._experiment

    def watch(
        self,
        model: torch.nn.Module,
        log: str | None = "gradients",
        log_freq: int = 100,
        log_graph: bool = True,
    ) -> None:
        """Let wandb log the model's gradients and/or parameters (``wandb.watch``).

        Args:
            model: the module.
            log: ``"gradients"``, ``"parameters"``, ``"all"`` or None.
            log_freq: every how many batches.
            log_graph: also log the model graph.
        """
        self.experiment.watch(model, log=log, log_freq=log_freq, log_graph=log_graph)

    @rank_zero_only
    def log_hyperparams(self, params: Mapping[str, Any] | Namespace) -> None:
        """Update the run's config (values may change); callables are named or called, values
        JSON cannot hold become strings.

        Args:
            params: a dict or Namespace.
        """
        config = json_safe(name_callables(convert_params(params)))
        self.experiment.config.update(config, allow_val_change=True)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log one history row; with a ``step`` it carries ``trainer/global_step`` too (unless
        ``sync_tensorboard`` is on).

        Args:
            metrics: name → value (numbers, tensors, or wandb media objects).
            step: the global step.
        """
        metrics = add_prefix(metrics, self._prefix, self.LOGGER_JOIN_CHAR)
        if step is not None and not self._wandb_init.get("sync_tensorboard"):
            self.experiment.log(dict(metrics, **{_STEP_KEY: step}))
        else:
            self.experiment.log(metrics)

    @rank_zero_only
    def log_table(
        self,
        key: str,
        columns: list[Any] | None = None,
        data: list[list[Any]] | None = None,
        dataframe: Any = None,
        step: int | None = None,
    ) -> None:
        """Log a ``wandb.Table`` from ``columns`` and ``data`` or from a ``dataframe``.

        Args:
            key: the history key.
            columns: the column names.
            data: the rows.
            dataframe: a pandas DataFrame instead of columns and data.
            step: the global step.
        """
        import wandb

        metrics = {key: wandb.Table(columns=columns, data=data, dataframe=dataframe)}
        self.log_metrics(metrics, step)

    @rank_zero_only
    def log_text(
        self,
        key: str,
        columns: list[str] | None = None,
        data: list[list[str]] | None = None,
        dataframe: Any = None,
        step: int | None = None,
    ) -> None:
        """Log text as a table (see :meth:`log_table`)."""
        self.log_table(key, columns, data, dataframe, step)

    @rank_zero_only
    def log_image(
        self, key: str, images: list[Any], step: int | None = None, **kwargs: Any
    ) -> None:
        """Log images (tensors, numpy arrays, PIL images or file paths).

        Args:
            key: the history key.
            images: a list of images.
            step: the global step.
            **kwargs: lists with one entry per image, given to each ``wandb.Image``
                (``caption``, ``masks``, ``boxes``, ...).
        """
        import wandb

        self._log_media(wandb.Image, "images", key, images, step, kwargs)

    @rank_zero_only
    def log_audio(
        self, key: str, audios: list[Any], step: int | None = None, **kwargs: Any
    ) -> None:
        """Log audio clips (numpy arrays or file paths); ``kwargs`` are lists, one entry per clip,
        given to each ``wandb.Audio`` (``caption``, ``sample_rate``)."""
        import wandb

        self._log_media(wandb.Audio, "audios", key, audios, step, kwargs)

    @rank_zero_only
    def log_video(
        self, key: str, videos: list[Any], step: int | None = None, **kwargs: Any
    ) -> None:
        """Log videos (numpy arrays or file paths); ``kwargs`` are lists, one entry per video,
        given to each ``wandb.Video`` (``caption``, ``fps``, ``format``)."""
        import wandb

        self._log_media(wandb.Video, "videos", key, videos, step, kwargs)

    def _log_media(
        self,
        kind: Any,
        what: str,
        key: str,
        items: list[Any],
        step: int | None,
        kwargs: Mapping[str, list[Any]],
    ) -> None:
        if not isinstance(items, list):
            raise TypeError(f'Expected a list as "{what}", found {type(items)}')
        n = len(items)
        for name, values in kwargs.items():
            if len(values) != n:
                raise ValueError(f"Expected {n} items but only found {len(values)} for {name}")
        per_item = [{name: kwargs[name][i] for name in kwargs} for i in range(n)]
        self.log_metrics({key: [kind(x, **kw) for x, kw in zip(items, per_item)]}, step)

    @property
    def save_dir(self) -> str | None:
        """The folder given as ``save_dir`` (or ``dir``)."""
        return self._save_dir

    @property
    def name(self) -> str | None:
        """The project name (not the run's display name, which is ``experiment.name``)."""
        return self._project

    @property
    def version(self) -> str | None:
        """The run's id once the run exists, else the id given to the constructor (reading it
        never starts a run)."""
        return self._experiment.id if self._experiment else self._id

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        """Upload the new checkpoint now (``log_model="all"``, or ``True`` with
        ``save_top_k=-1``), or remember the callback to upload its checkpoints at the end."""
        if self._log_model == "all" or (
            self._log_model is True and checkpoint_callback.save_top_k == -1
        ):
            self._scan_and_log_checkpoints(checkpoint_callback)
        elif self._log_model is True:
            self._checkpoint_callbacks[id(checkpoint_callback)] = checkpoint_callback

    @staticmethod
    @rank_zero_only
    def download_artifact(
        artifact: str,
        save_dir: str | os.PathLike[str] | None = None,
        artifact_type: str | None = None,
        use_artifact: bool | None = True,
    ) -> str:
        """Download an artifact from the W&B server; returns the folder it went to.

        Args:
            artifact: the artifact's path (``entity/project/name:alias``).
            save_dir: where to put it (None: wandb's default).
            artifact_type: the artifact's type.
            use_artifact: record the use in the current run's lineage (when a run exists).
        """
        import wandb

        found: Any
        if wandb.run is not None and use_artifact:
            found = wandb.run.use_artifact(artifact)
        else:
            found = wandb.Api().artifact(artifact, type=artifact_type)
        root = None if save_dir is None else os.fspath(save_dir)
        return str(found.download(root=root))

    def use_artifact(self, artifact: str, artifact_type: str | None = None) -> Any:
        """Record that this run uses ``artifact``; returns the wandb ``Artifact``.

        Args:
            artifact: the artifact's path.
            artifact_type: its type.
        """
        return self.experiment.use_artifact(artifact, type=artifact_type)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """After a successful run, upload the checkpoints kept for the end (``log_model=True``).
        The run itself stays open (wandb finishes it when the process exits, or at
        ``wandb.finish()``), as in Lightning.

        Args:
            status: how the Trainer's run ended.
        """
        if status != "success":
            return
        if self._experiment is not None:
            for checkpoint_callback in self._checkpoint_callbacks.values():
                self._scan_and_log_checkpoints(checkpoint_callback)

    def _scan_and_log_checkpoints(self, checkpoint_callback: Any) -> None:
        """Each checkpoint not uploaded since it last changed becomes a version of the ``model``
        artifact (file ``model.ckpt``), aliased ``latest`` (and ``best`` for the best one)."""
        import wandb

        section = type(checkpoint_callback).__name__
        for mtime, path, score, _ in scan_checkpoints(checkpoint_callback, self._logged_model_time):
            metadata = checkpoint_metadata(checkpoint_callback, path, score, section)
            if not self._checkpoint_name:
                self._checkpoint_name = f"model-{self.experiment.id}"
            artifact = wandb.Artifact(name=self._checkpoint_name, type="model", metadata=metadata)
            artifact.add_file(path, name="model.ckpt", policy=self.add_file_policy)
            best = path == checkpoint_callback.best_model_path
            self.experiment.log_artifact(
                artifact, aliases=["latest", "best"] if best else ["latest"]
            )
            self._logged_model_time[path] = mtime
