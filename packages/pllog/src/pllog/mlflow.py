"""``MLFlowLogger``: metrics, hyper-parameters and checkpoints in an MLflow tracking store.

One run of an MLflow experiment per logger; the experiment and the run are created when
:attr:`MLFlowLogger.experiment` is first used (the Trainer does so when it sets up, before any
``setup`` hook)::

    logger = MLFlowLogger(experiment_name="lightning_logs", tracking_uri="file:./mlruns")
    trainer = Trainer(logger=logger)

Read the results back with mlflow's own client (``MlflowClient(tracking_uri).get_run(run_id)``)
or ``mlflow ui``. ``mlflow`` is imported when a logger is built, never by ``import pllog``;
install it with ``pip install 'pllog[mlflow]'``.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from plcore.utilities.rank_zero import rank_zero_only, rank_zero_warn
from pllog._artifacts import checkpoint_metadata, scan_checkpoints
from pllog._extras import require
from pllog._params import add_prefix, convert_params, flatten_nested, to_number
from pllog.logger import Logger, rank_zero_experiment

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

__all__ = ["MLFlowLogger"]

log = logging.getLogger(__name__)

LOCAL_FILE_URI_PREFIX = "file:"
#: MLflow's limit on a parameter value (characters kept) and on parameters per ``log_batch``.
_PARAM_VALUE_LIMIT = 250
_PARAMS_PER_BATCH = 100
#: What MLflow accepts in a metric name; the rest is dropped with a warning.
_METRIC_NAME_DROPPED = re.compile(r"[^a-zA-Z0-9_/. -]+")
_STATUS = {"success": "FINISHED", "failed": "FAILED", "finished": "FINISHED"}


class MLFlowLogger(Logger):
    """Log to `MLflow <https://mlflow.org>`_ (the Lightning 2.x ``MLFlowLogger``).

    Args:
        experiment_name: the MLflow experiment; created when it does not exist (or was deleted).
        run_name: the run's name (the ``mlflow.runName`` tag, which it overrides in ``tags``).
        tracking_uri: the tracking store or server; None uses ``file:<save_dir>``. The default is
            the ``MLFLOW_TRACKING_URI`` environment variable as it was when pllog was imported.
        tags: tags of the new run.
        save_dir: the local folder of the file store, used when no ``tracking_uri`` is given.
        log_model: upload the checkpoints that ``ModelCheckpoint`` writes as run artifacts:
            ``"all"`` as each is saved; ``True`` when training ends (as each is saved when the
            callback keeps every checkpoint, ``save_top_k=-1``); ``False`` never.
        prefix: put in front of every metric name, joined with ``"-"``.
        artifact_location: where a newly created experiment stores artifacts (None: the store's
            default).
        run_id: log into this existing run instead of starting a new one.
        synchronous: passed to mlflow's ``log_batch`` (None: mlflow's default).
        checkpoint_path_prefix: a folder inside the run's artifacts that checkpoint uploads go
            under (``""``: the artifact root), as in later Lightning releases; keyword only.

    Raises:
        ModuleNotFoundError: when mlflow is not installed.
    """

    LOGGER_JOIN_CHAR = "-"

    def __init__(
        self,
        experiment_name: str = "lightning_logs",
        run_name: str | None = None,
        tracking_uri: str | None = os.getenv("MLFLOW_TRACKING_URI"),
        tags: dict[str, Any] | None = None,
        save_dir: str | None = "./mlruns",
        log_model: Literal[True, False, "all"] = False,
        prefix: str = "",
        artifact_location: str | None = None,
        run_id: str | None = None,
        synchronous: bool | None = None,
        *,
        checkpoint_path_prefix: str = "",
    ) -> None:
        require("mlflow", "mlflow", "MLFlowLogger")
        if log_model not in (True, False, "all"):
            raise ValueError(
                f"MLFlowLogger(log_model={log_model!r}): use True (upload checkpoints when "
                "training ends), 'all' (upload each as it is saved) or False."
            )
        super().__init__()
        if not tracking_uri:
            tracking_uri = f"{LOCAL_FILE_URI_PREFIX}{save_dir}"
        self._experiment_name = experiment_name
        self._experiment_id: str | None = None
        self._tracking_uri = tracking_uri
        self._run_name = run_name
        self._run_id = run_id
        self.tags = tags
        self._log_model = log_model
        self._logged_model_time: dict[str, float] = {}
        self._checkpoint_callback: Any = None
        self._checkpoint_path_prefix = checkpoint_path_prefix
        self._prefix = prefix
        self._artifact_location = artifact_location
        self._log_batch_kwargs = {} if synchronous is None else {"synchronous": synchronous}
        self._initialized = False

        from mlflow.tracking import MlflowClient

        self._mlflow_client = MlflowClient(tracking_uri)

    @property
    @rank_zero_experiment
    def experiment(self) -> MlflowClient:
        """The ``MlflowClient``; the first use finds or creates the experiment and starts the run.

        Use any client call with the run's id::

            self.logger.experiment.set_tag(self.logger.run_id, "stage", "tuning")
        """
        if self._initialized:
            return self._mlflow_client
        import mlflow

        mlflow.set_tracking_uri(self._tracking_uri)
        client = self._mlflow_client
        if self._run_id is not None:  # an existing run: its experiment is the run's
            self._experiment_id = client.get_run(self._run_id).info.experiment_id
            self._initialized = True
            return client
        if self._experiment_id is None:
            expt = client.get_experiment_by_name(self._experiment_name)
            if expt is not None and expt.lifecycle_stage != "deleted":
                self._experiment_id = expt.experiment_id
            else:
                log.warning(f"Experiment with name {self._experiment_name} not found. Creating it.")
                self._experiment_id = client.create_experiment(
                    name=self._experiment_name, artifact_location=self._artifact_location
                )
        if self._run_name is not None:
            from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME

            self.tags = self.tags or {}
            if MLFLOW_RUN_NAME in self.tags:
                log.warning(
                    f"The tag {MLFLOW_RUN_NAME} is found in tags. The value will be overridden by"
                    f" {self._run_name}."
                )
            self.tags[MLFLOW_RUN_NAME] = self._run_name
        from mlflow.tracking.context.registry import resolve_tags

        run = client.create_run(experiment_id=self._experiment_id, tags=resolve_tags(self.tags))
        self._run_id = run.info.run_id
        self._initialized = True
        return client

    @property
    def run_id(self) -> str | None:
        """The run's id (starting the run if it has not started)."""
        _ = self.experiment
        return self._run_id

    @property
    def experiment_id(self) -> str | None:
        """The experiment's id (finding or creating the experiment if needed)."""
        _ = self.experiment
        return self._experiment_id

    @rank_zero_only
    def log_hyperparams(self, params: Mapping[str, Any] | Namespace) -> None:
        """Record hyper-parameters as run parameters.

        Nested dicts are flattened with ``"/"``; values are written as strings cut to 250
        characters, in batches of 100 (MLflow's limits).

        Args:
            params: a dict or Namespace.
        """
        from mlflow.entities import Param

        flat = flatten_nested(convert_params(params))
        items = [Param(key=k, value=str(v)[:_PARAM_VALUE_LIMIT]) for k, v in flat.items()]
        for start in range(0, len(items), _PARAMS_PER_BATCH):
            self.experiment.log_batch(
                run_id=self.run_id,
                params=items[start : start + _PARAMS_PER_BATCH],
                **self._log_batch_kwargs,
            )

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Record metrics at ``step`` (0 when None), in one ``log_batch`` call.

        String values are skipped with a logged warning; characters MLflow refuses in a name
        are dropped with a ``RuntimeWarning``.

        Args:
            metrics: name → number or one-element tensor.
            step: the global step.
        """
        from mlflow.entities import Metric

        timestamp_ms = int(time.time() * 1000)
        batch: list[Metric] = []
        for key, value in add_prefix(metrics, self._prefix, self.LOGGER_JOIN_CHAR).items():
            if isinstance(value, str):
                log.warning(f"Discarding metric with string value {key}={value}.")
                continue
            clean = _METRIC_NAME_DROPPED.sub("", key)
            if clean != key:
                rank_zero_warn(
                    "MLFlow only allows '_', '/', '.' and ' ' special characters in metric name."
                    f" Replacing {key} with {clean}.",
                    category=RuntimeWarning,
                )
            batch.append(
                Metric(key=clean, value=to_number(value), timestamp=timestamp_ms, step=step or 0)
            )
        self.experiment.log_batch(run_id=self.run_id, metrics=batch, **self._log_batch_kwargs)

    @rank_zero_only
    def finalize(self, status: str = "success") -> None:
        """End the run: upload the checkpoints kept for the end (``log_model=True``), then mark
        the run FINISHED (``"success"``, ``"finished"``) or FAILED (``"failed"``). A logger whose
        run never started does nothing.

        Args:
            status: how the Trainer's run ended.
        """
        if not self._initialized:
            return
        status = _STATUS.get(status, status)
        if self._checkpoint_callback is not None:
            self._scan_and_log_checkpoints(self._checkpoint_callback)
        if self.experiment.get_run(self.run_id):
            self.experiment.set_terminated(self.run_id, status)

    @property
    def save_dir(self) -> str | None:
        """The file store's folder when the tracking URI is ``file:...``; None for a server."""
        if self._tracking_uri.startswith(LOCAL_FILE_URI_PREFIX):
            return self._tracking_uri[len(LOCAL_FILE_URI_PREFIX) :]
        return None

    @property
    def name(self) -> str | None:
        """The experiment's id (not its name), as in Lightning."""
        return self.experiment_id

    @property
    def version(self) -> str | None:
        """The run's id."""
        return self.run_id

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        """Upload the new checkpoint now (``log_model="all"``, or ``True`` with
        ``save_top_k=-1``), or remember the callback to upload its checkpoints at the end."""
        if self._log_model == "all" or (
            self._log_model is True and checkpoint_callback.save_top_k == -1
        ):
            self._scan_and_log_checkpoints(checkpoint_callback)
        elif self._log_model is True:
            self._checkpoint_callback = checkpoint_callback

    def _scan_and_log_checkpoints(self, checkpoint_callback: Any) -> None:
        """Each checkpoint not uploaded since it last changed goes to ``<prefix>/<file stem>/``
        with a ``metadata.yaml`` (score, file name, the callback's settings) and an
        ``aliases.txt`` (``['latest', 'best']`` for the best one, else ``['latest']``)."""
        import yaml

        for mtime, path, score, _ in scan_checkpoints(checkpoint_callback, self._logged_model_time):
            metadata = checkpoint_metadata(checkpoint_callback, path, score, "Checkpoint")
            best = path == checkpoint_callback.best_model_path
            aliases = ["latest", "best"] if best else ["latest"]
            artifact_path = str(Path(self._checkpoint_path_prefix) / Path(path).stem)
            self.experiment.log_artifact(self._run_id, path, artifact_path)
            with tempfile.TemporaryDirectory() as tmp:
                with open(os.path.join(tmp, "metadata.yaml"), "w") as f:
                    yaml.dump(metadata, f, default_flow_style=False)
                with open(os.path.join(tmp, "aliases.txt"), "w") as f:
                    f.write(str(aliases))
                self.experiment.log_artifacts(self._run_id, tmp, artifact_path)
            self._logged_model_time[path] = mtime

    def __getstate__(self) -> dict[str, Any]:
        # The client holds no process state worth keeping; a spawned copy builds its own.
        state = self.__dict__.copy()
        state["_mlflow_client"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        from mlflow.tracking import MlflowClient

        self._mlflow_client = MlflowClient(self._tracking_uri)
