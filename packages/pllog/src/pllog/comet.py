"""``CometLogger``: parameters, metrics and the model graph in a Comet experiment.

Online with an API key, or offline into a folder (``online=False``), as Lightning's::

    logger = CometLogger(project="mnist", online=False, offline_directory="comet")
    trainer = Trainer(logger=logger)

Unlike the other loggers, the experiment starts when the logger is built (on global rank 0), as
in Lightning. An offline experiment becomes a ``.zip`` in ``offline_directory`` when it ends (at
``logger.experiment.end()`` or when the process exits); upload it with ``comet upload``.
``comet_ml`` is imported when a logger is built, never by ``import pllog``; install it with
``pip install 'pllog[comet]'``.
"""

from __future__ import annotations

import logging
import os
from argparse import Namespace
from collections.abc import Mapping
from typing import Any, Literal

import torch

from plcore.utilities.rank_zero import rank_zero_only
from pllog._extras import require
from pllog._params import convert_params
from pllog.logger import Logger, rank_zero_experiment

__all__ = ["CometLogger"]

log = logging.getLogger(__name__)

#: How the experiment names its source to Comet: Lightning's name, so Comet treats the runs alike.
FRAMEWORK_NAME = "pytorch-lightning"


class CometLogger(Logger):
    """Log to `Comet <https://www.comet.com>`_ (the Lightning 2.x ``CometLogger``).

    All arguments are keywords.

    Args:
        api_key: the Comet API key (None: ``COMET_API_KEY`` or Comet's config file).
        workspace: the workspace.
        project: the project.
        experiment_key: the key of an existing experiment to continue (see ``mode``).
        mode: ``"get_or_create"``, ``"get"`` or ``"create"`` (None: Comet's default).
        online: False logs offline into ``offline_directory`` (None: Comet's default).
        prefix: put in front of every metric name.
        **kwargs: passed to ``comet_ml.ExperimentConfig`` (``name``, ``offline_directory``,
            ``log_code``, ...). The older ``experiment_name``, ``project_name``, ``offline`` and
            ``save_dir`` are still accepted, with a logged warning.

    Raises:
        ModuleNotFoundError: when comet_ml is not installed.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        workspace: str | None = None,
        project: str | None = None,
        experiment_key: str | None = None,
        mode: Literal["get_or_create", "get", "create"] | None = None,
        online: bool | None = None,
        prefix: str | None = None,
        **kwargs: Any,
    ) -> None:
        require("comet_ml", "comet", "CometLogger")
        super().__init__()
        project, online = _renamed_arguments(kwargs, project, online)
        self._api_key = api_key
        self._experiment: Any = None
        self._workspace = workspace
        self._mode = mode
        self._online = online
        self._project_name = project
        self._experiment_key = experiment_key
        self._prefix = prefix
        self._kwargs = kwargs
        # comet_ml hooks into libraries imported after it unless told not to
        os.environ["COMET_DISABLE_AUTO_LOGGING"] = "1"
        import comet_ml

        # Lightning also sets ``disabled=True`` when ``online=False``, which (with comet_ml 3.4x
        # and later) turns the offline experiment off: nothing is written. Here it is written
        # (docs/differences.md, "CometLogger offline").
        self._comet_config = comet_ml.ExperimentConfig(**self._kwargs)
        if rank_zero_only.rank != 0:  # only global rank 0 has an experiment
            return
        self._create_experiment()

    def _create_experiment(self) -> None:
        import comet_ml

        self._experiment = comet_ml.start(
            api_key=self._api_key,
            workspace=self._workspace,
            project=self._project_name,
            experiment_key=self._experiment_key,
            mode=self._mode,
            online=self._online,
            experiment_config=self._comet_config,
        )
        if self._experiment is None:
            raise comet_ml.exceptions.ExperimentNotFound("Failed to create Comet experiment.")
        self._experiment_key = self._experiment.get_key()
        self._project_name = self._experiment.project_name
        self._experiment.log_other("Created from", FRAMEWORK_NAME)

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The Comet experiment (``Experiment``, ``ExistingExperiment`` or
        ``OfflineExperiment``); made again if the logger has none (a spawned copy)."""
        if not self._experiment:
            self._create_experiment()
        return self._experiment

    @rank_zero_only
    def log_hyperparams(self, params: Mapping[str, Any] | Namespace) -> None:
        """Log parameters; Comet flattens nested ones (``net|depth``).

        Args:
            params: a dict or Namespace.
        """
        self.experiment.__internal_api__log_parameters__(
            parameters=convert_params(params),
            framework=FRAMEWORK_NAME,
            flatten_nested=True,
            source="manual",
        )

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log metrics at ``step``; an ``epoch`` value becomes the metrics' epoch, not a metric.

        Args:
            metrics: name → number or tensor.
            step: the global step.
        """
        values = {
            k: (v.cpu().detach() if isinstance(v, torch.Tensor) else v) for k, v in metrics.items()
        }
        epoch = values.pop("epoch", None)
        self.experiment.__internal_api__log_metrics__(
            values, step=step, epoch=epoch, prefix=self._prefix, framework=FRAMEWORK_NAME
        )

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Send (or write) what is buffered, but leave the experiment open so it can still be
        used after training, as Lightning does; it ends with the process.

        Args:
            status: how the Trainer's run ended.
        """
        if self._experiment is None:
            return
        self.experiment.flush()

    @property
    def save_dir(self) -> str | None:
        """The offline folder (``offline_directory``), if one was given."""
        return self._comet_config.offline_directory

    @property
    def name(self) -> str | None:
        """The project name."""
        return self._project_name

    @property
    def version(self) -> str | None:
        """The experiment key, when an experiment exists (reading it never starts one)."""
        if self._experiment is not None:
            return self._experiment.get_key()
        return None

    def __getstate__(self) -> dict[str, Any]:
        # The experiment holds connections; a copy keeps its key and makes its own.
        state = self.__dict__.copy()
        key = self._experiment.get_key() if self._experiment is not None else None
        state["_experiment_key"] = key
        state["_experiment"] = None
        return state

    def log_graph(self, model: torch.nn.Module, input_array: torch.Tensor | None = None) -> None:
        """Record the model's structure with the experiment.

        Args:
            model: the module.
            input_array: unused (Comet records the module itself).
        """
        if self._experiment is not None:
            self._experiment.__internal_api__set_model_graph__(
                graph=model, framework=FRAMEWORK_NAME
            )


def _renamed_arguments(
    kwargs: dict[str, Any], project: str | None, online: bool | None
) -> tuple[str | None, bool | None]:
    """Accept Lightning's older argument names (each with its logged warning), in place."""
    if "experiment_name" in kwargs:
        log.warning("The parameter `experiment_name` is deprecated, please use `name` instead.")
        experiment_name = kwargs.pop("experiment_name")
        if "name" not in kwargs:
            kwargs["name"] = experiment_name
        else:
            log.warning(
                "You specified both `experiment_name` and `name` parameters, please use `name` only"
            )
    if "project_name" in kwargs:
        log.warning("The parameter `project_name` is deprecated, please use `project` instead.")
        if project is None:
            project = kwargs.pop("project_name")
        else:
            log.warning(
                "You specified both `project_name` and `project` parameters, please use `project`"
                " only"
            )
    if "offline" in kwargs:
        log.warning("The parameter `offline is deprecated, please use `online` instead.")
        if online is None:
            online = kwargs.pop("offline")
        else:
            log.warning(
                "You specified both `offline` and `online` parameters, please use `online` only"
            )
    if "save_dir" in kwargs:
        log.warning(
            "The parameter `save_dir` is deprecated, please use `offline_directory` instead."
        )
        if "offline_directory" not in kwargs:
            kwargs["offline_directory"] = kwargs.pop("save_dir")
        else:
            log.warning(
                "You specified both `save_dir` and `offline_directory` parameters, "
                "please use `offline_directory` only"
            )
    return project, online
