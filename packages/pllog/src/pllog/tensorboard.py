"""``TensorBoardLogger``: metrics, hyper-parameters and the model graph as TensorBoard event files.

Files land in ``<save_dir>/<name>/version_<N>[/<sub_dir>]``; view them with
``tensorboard --logdir <save_dir>``. One process::

    logger = TensorBoardLogger("logs")            # logs/lightning_logs/version_0, then version_1, ...
    trainer = Trainer(logger=logger)

With torchrun or several nodes only global rank 0 writes; other ranks get a do-nothing experiment.
``tensorboard`` is imported when the first event is written, not when this module is imported.
"""

from __future__ import annotations

import os
import warnings
from argparse import Namespace
from collections.abc import Mapping
from typing import Any

import torch

from plcore.utilities import cloud_io
from plcore.utilities.rank_zero import rank_zero_only, rank_zero_warn
from pllog._hparams_io import save_hparams_to_yaml
from pllog._params import add_prefix, convert_params, flatten_dict, sanitize_params, to_number
from pllog._versioning import check_version, next_version, resolve_root_dir, version_folder
from pllog.logger import Logger, rank_zero_experiment

__all__ = ["TensorBoardLogger"]

_WRITER_KWARGS = frozenset({"comment", "purge_step", "max_queue", "flush_secs", "filename_suffix"})


def _check_writer_kwargs(kwargs: Mapping[str, Any]) -> None:
    unknown = sorted(set(kwargs) - _WRITER_KWARGS)
    if unknown:
        raise TypeError(
            f"TensorBoardLogger got unexpected keyword argument(s) {unknown}; the extra arguments go "
            f"to SummaryWriter, which accepts {sorted(_WRITER_KWARGS)} (log_dir is set by the logger)."
        )


class TensorBoardLogger(Logger):
    """Log to TensorBoard event files through ``torch.utils.tensorboard.SummaryWriter``.

    Args:
        save_dir: the folder all experiments go under, local or a URL (``s3://bucket/logs``;
            the event files go through tensorboard's own file layer).
        name: the experiment folder inside ``save_dir``; ``""`` or None writes straight into it.
        version: None picks the next free ``version_<N>``; an int N gives ``version_N``; a string
            is used as the folder name as it is.
        log_graph: whether :meth:`log_graph` writes the model graph (it needs
            ``model.example_input_array`` or an ``input_array``).
        default_hp_metric: log ``hp_metric = -1`` with the hyper-parameters when no metrics are
            given, so TensorBoard's HParams tab shows the run.
        prefix: put in front of every metric name, joined with ``"-"`` (``"train-loss"``).
        sub_dir: an extra folder inside the version folder.
        **kwargs: passed to ``SummaryWriter`` (``comment``, ``purge_step``, ``max_queue``,
            ``flush_secs``, ``filename_suffix``).
    """

    NAME_HPARAMS_FILE = "hparams.yaml"
    LOGGER_JOIN_CHAR = "-"

    def __init__(
        self,
        save_dir: str | os.PathLike[str],
        name: str | None = "lightning_logs",
        version: int | str | None = None,
        log_graph: bool = False,
        default_hp_metric: bool = True,
        prefix: str = "",
        sub_dir: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(save_dir, (str, os.PathLike)):
            raise TypeError(f"`save_dir` must be a path, got {type(save_dir).__name__}.")
        check_version(version)
        _check_writer_kwargs(kwargs)
        self._save_dir = cloud_io.check_path(save_dir, "TensorBoardLogger(save_dir=...)")
        self._name = name or ""
        self._version = version
        self._log_graph = bool(log_graph)
        self._default_hp_metric = bool(default_hp_metric)
        self._prefix = prefix
        self._sub_dir = None if sub_dir is None else os.fspath(sub_dir)
        self._kwargs = dict(kwargs)
        self._experiment: Any = None
        self.hparams: dict[str, Any] = {}

    @property
    def name(self) -> str:
        """The experiment name (the folder under ``save_dir``)."""
        return self._name

    @property
    def version(self) -> int | str:
        """The version; when not given, the next free number, decided on first use and then fixed."""
        if self._version is None:
            self._version = next_version(self.root_dir)
        return self._version

    @version.setter
    def version(self, version: int | str) -> None:
        """Fix the version (a trainer gives every process rank 0's, so all write one folder)."""
        check_version(version)
        self._version = version

    @property
    def save_dir(self) -> str:
        """The folder given as ``save_dir``."""
        return self._save_dir

    @property
    def root_dir(self) -> str:
        """``save_dir/name`` (``save_dir`` when the name is empty)."""
        return resolve_root_dir(self._save_dir, self._name)

    @property
    def log_dir(self) -> str:
        """``root_dir/version_<N>[/sub_dir]``: where the event files and ``hparams.yaml`` go."""
        log_dir = os.path.join(self.root_dir, version_folder(self.version))
        if self._sub_dir:
            log_dir = os.path.join(log_dir, self._sub_dir)
        return os.path.expandvars(os.path.expanduser(log_dir))

    @property
    def sub_dir(self) -> str | None:
        """The extra folder inside the version folder, if any."""
        return self._sub_dir

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The ``SummaryWriter``, created on first use (rank 0 only)."""
        if self._experiment is None:
            from torch.utils.tensorboard import SummaryWriter

            cloud_io.makedirs(self.root_dir)
            # A URL goes to tensorboard's own file layer (its s3 support, else fsspec).
            self._experiment = SummaryWriter(log_dir=self.log_dir, **self._kwargs)
        return self._experiment

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Write scalars; a dict value is written as a group with ``add_scalars``.

        Args:
            metrics: name → number, one-element tensor, or dict of those.
            step: the global step.
        """
        for key, value in add_prefix(metrics, self._prefix, self.LOGGER_JOIN_CHAR).items():
            try:
                if isinstance(value, Mapping):
                    scalars = {k: to_number(v) for k, v in value.items()}
                    self.experiment.add_scalars(key, scalars, step)
                else:
                    self.experiment.add_scalar(key, to_number(value), step)
            except (RuntimeError, TypeError, ValueError, AssertionError) as err:
                raise ValueError(
                    f"Cannot log metric {key!r} = {value!r} to TensorBoard; log a number, a "
                    "one-element tensor or a dict of those."
                ) from err

    @rank_zero_only
    def log_hyperparams(
        self,
        params: Mapping[str, Any] | Namespace,
        metrics: Mapping[str, Any] | float | None = None,
        step: int | None = None,
    ) -> None:
        """Record hyper-parameters in ``hparams.yaml`` (on :meth:`save`) and TensorBoard's HParams tab.

        Args:
            params: a dict or Namespace; nested dicts are flattened with ``"/"`` for TensorBoard.
            metrics: metrics shown next to the hyper-parameters; a number means ``hp_metric``.
                None logs ``hp_metric = -1`` when ``default_hp_metric`` is on.
            step: the step of those metrics (None: TensorBoard's default).
        """
        params = convert_params(params)
        self.hparams.update(params)
        if metrics is None:
            metrics = {"hp_metric": -1} if self._default_hp_metric else {}
        elif not isinstance(metrics, Mapping):
            metrics = {"hp_metric": metrics}
        if not metrics:
            return
        self.log_metrics(metrics, step)
        self._write_hparams_plugin(sanitize_params(flatten_dict(params, "/")), metrics, step)

    def _write_hparams_plugin(
        self, flat_params: dict[str, Any], metrics: Mapping[str, Any], step: int | None
    ) -> None:
        from torch.utils.tensorboard.summary import hparams

        experiment, session_start, session_end = hparams(flat_params, dict(metrics))
        writer = self.experiment._get_file_writer()
        for summary in (experiment, session_start, session_end):
            writer.add_summary(summary, step)

    @rank_zero_only
    def log_graph(self, model: torch.nn.Module, input_array: Any = None) -> None:
        """Write the model graph when the logger was built with ``log_graph=True``.

        Args:
            model: the module to trace.
            input_array: a tensor or tuple of tensors; None uses ``model.example_input_array``.
        """
        if not self._log_graph:
            return
        if input_array is None:
            input_array = getattr(model, "example_input_array", None)
        if input_array is None:
            rank_zero_warn(
                "Could not log computational graph to TensorBoard: The `model.example_input_array`"
                " attribute is not set or `input_array` was not given."
            )
            return
        if not isinstance(input_array, (torch.Tensor, tuple)):
            rank_zero_warn(
                "Could not log computational graph to TensorBoard: The `input_array` or"
                f" `model.example_input_array` has type {type(input_array)} which can't be traced by"
                " TensorBoard. Make the input array a tuple representing the positional arguments"
                " to the model's `forward()` implementation."
            )
            return
        with warnings.catch_warnings():
            # add_graph traces with torch.jit, which recent torch marks deprecated; the user did
            # not choose jit, so the warning would only be noise.
            warnings.filterwarnings("ignore", message=r".*torch\.jit", category=DeprecationWarning)
            self.experiment.add_graph(model, _to_model_device(model, input_array))

    @rank_zero_only
    def save(self) -> None:
        """Flush the event file (creating it on first use) and write ``hparams.yaml`` if the
        version folder has none yet."""
        self.experiment.flush()
        path = os.path.join(self.log_dir, self.NAME_HPARAMS_FILE)
        if cloud_io.isdir(self.log_dir, strict=False) and not cloud_io.isfile(path):
            save_hparams_to_yaml(path, self.hparams)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Flush and close the writer (a later write reopens a new event file); after a
        successful run, :meth:`save` as well.

        Args:
            status: how the run ended.
        """
        if self._experiment is not None:
            self._experiment.flush()
            self._experiment.close()
        if status == "success":
            self.save()

    def __getstate__(self) -> dict[str, Any]:
        # A SummaryWriter holds threads and files; a pickled copy (spawned worker) makes its own.
        state = self.__dict__.copy()
        state["_experiment"] = None
        return state


def _to_model_device(model: torch.nn.Module, inputs: Any) -> Any:
    """Move a tensor or tuple of tensors onto the device of the model's first parameter."""
    param = next(model.parameters(), None)
    if param is None:
        return inputs
    if isinstance(inputs, torch.Tensor):
        return inputs.to(param.device)
    return tuple(x.to(param.device) if isinstance(x, torch.Tensor) else x for x in inputs)
