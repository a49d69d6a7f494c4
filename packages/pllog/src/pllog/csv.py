"""``CSVLogger``: metrics as ``metrics.csv`` and hyper-parameters as ``hparams.yaml``.

Files land in ``<save_dir>/<name>/version_<N>/``. ``metrics.csv`` has one row per
:meth:`CSVLogger.log_metrics` call; its columns are every name ever logged and ``step``, sorted
(as Lightning writes them); a metric missing from a row is an empty cell. ``hparams.yaml`` is
written when hyper-parameters are logged. Read it back with
``pandas.read_csv(path)`` or ``csv.DictReader``. Only global rank 0 writes.
"""

from __future__ import annotations

import csv
import io
import os
from argparse import Namespace
from collections.abc import Iterable, Mapping
from typing import Any

from plcore.utilities import cloud_io
from plcore.utilities.rank_zero import rank_zero_only, rank_zero_warn
from pllog._hparams_io import save_hparams_to_yaml
from pllog._params import add_prefix, convert_params, to_number
from pllog._versioning import check_version, next_version, resolve_root_dir, version_folder
from pllog.logger import Logger, rank_zero_experiment

__all__ = ["CSVLogger", "ExperimentWriter"]


def _header(keys: Iterable[str]) -> list[str]:
    return sorted(set(keys))


class ExperimentWriter:
    """Buffers metric rows and hyper-parameters for one version folder and writes them on :meth:`save`.

    Args:
        log_dir: the version folder; created if missing.
    """

    NAME_HPARAMS_FILE = "hparams.yaml"
    NAME_METRICS_FILE = "metrics.csv"

    def __init__(self, log_dir: str) -> None:
        self.log_dir = log_dir
        self.hparams: dict[str, Any] = {}
        self.metrics: list[dict[str, Any]] = []  # rows logged since the last save
        self.metrics_keys: list[str] = []  # the header of metrics.csv as written
        self.metrics_file_path = os.path.join(log_dir, self.NAME_METRICS_FILE)
        self._rows_logged = 0
        if cloud_io.isdir(log_dir) and cloud_io.listdir(log_dir):
            rank_zero_warn(
                f"Experiment logs directory {log_dir} exists and is not empty; new rows are appended "
                "to metrics.csv and hparams.yaml is replaced. Pass a new `version` to start afresh."
            )
        cloud_io.makedirs(log_dir)

    def log_hparams(self, params: Mapping[str, Any]) -> None:
        """Add hyper-parameters and write ``hparams.yaml`` now (only then: a run without
        hyper-parameters leaves no ``hparams.yaml``, as in Lightning).

        Args:
            params: name → value.
        """
        self.hparams.update(params)
        save_hparams_to_yaml(os.path.join(self.log_dir, self.NAME_HPARAMS_FILE), self.hparams)

    def log_metrics(self, metrics_dict: Mapping[str, Any], step: int | None = None) -> None:
        """Buffer one row.

        Args:
            metrics_dict: name → number or one-element tensor.
            step: the step column; None numbers the rows 0, 1, 2, ...
        """
        row = {key: to_number(value) for key, value in metrics_dict.items()}
        row["step"] = self._rows_logged if step is None else step
        self.metrics.append(row)
        self._rows_logged += 1

    def save(self) -> None:
        """Append the buffered rows to ``metrics.csv``."""
        if not self.metrics:
            return
        path = self.metrics_file_path
        file_exists = cloud_io.isfile(path)
        if file_exists and not self.metrics_keys:
            self.metrics_keys = self._read_header()  # a reused version folder: keep its columns
        header = _header([*self.metrics_keys, *(key for row in self.metrics for key in row)])
        if file_exists and header != self.metrics_keys:
            self._rewrite(header)
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=header, restval="")
        if not file_exists:
            writer.writeheader()
        writer.writerows(self.metrics)
        cloud_io.append_text(path, buffer.getvalue())
        self.metrics_keys = header
        self.metrics = []

    def _read_header(self) -> list[str]:
        text = cloud_io.read_text(self.metrics_file_path)
        return next(csv.reader(io.StringIO(text, newline="")), [])

    def _rewrite(self, header: list[str]) -> None:
        """Rewrite metrics.csv under a wider header; earlier rows get empty cells for new columns."""
        text = cloud_io.read_text(self.metrics_file_path)
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(rows)
        cloud_io.write_text(self.metrics_file_path, buffer.getvalue())  # atomic replace


class CSVLogger(Logger):
    """Log metrics to a CSV file and hyper-parameters to YAML, locally or on remote storage
    (``s3://``, ``gs://``, ``memory://``... through fsspec; a remote ``metrics.csv`` is
    replaced whole at each flush, as object stores cannot append).

    Args:
        save_dir: the folder all experiments go under, local or a URL (``s3://bucket/logs``).
        name: the experiment folder inside ``save_dir``; ``""`` or None writes straight into it.
        version: None picks the next free ``version_<N>``; an int N gives ``version_N``; a string
            is used as the folder name as it is.
        prefix: put in front of every metric name, joined with ``"-"``.
        flush_logs_every_n_steps: write the buffered rows to disk when a row's ``step + 1`` is
            a multiple of this (and always on :meth:`save` / :meth:`finalize`; the Trainer
            saves after every write).
    """

    LOGGER_JOIN_CHAR = "-"

    def __init__(
        self,
        save_dir: str | os.PathLike[str],
        name: str | None = "lightning_logs",
        version: int | str | None = None,
        prefix: str = "",
        flush_logs_every_n_steps: int = 100,
    ) -> None:
        if not isinstance(save_dir, (str, os.PathLike)):
            raise TypeError(f"`save_dir` must be a path, got {type(save_dir).__name__}.")
        if not isinstance(flush_logs_every_n_steps, int) or flush_logs_every_n_steps < 1:
            raise ValueError(
                f"`flush_logs_every_n_steps` must be an int >= 1, got {flush_logs_every_n_steps!r}."
            )
        check_version(version)
        self._save_dir = cloud_io.check_path(save_dir, "CSVLogger(save_dir=...)")
        self._name = name or ""
        self._version = version
        self._prefix = prefix
        self._flush_logs_every_n_steps = flush_logs_every_n_steps
        self._experiment: ExperimentWriter | None = None

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
        """``root_dir/version_<N>``: where ``metrics.csv`` and ``hparams.yaml`` go."""
        return os.path.join(self.root_dir, version_folder(self.version))

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        """The :class:`ExperimentWriter`, created on first use (rank 0 only)."""
        if self._experiment is None:
            cloud_io.makedirs(self.root_dir)
            self._experiment = ExperimentWriter(self.log_dir)
        return self._experiment

    @rank_zero_only
    def log_hyperparams(
        self, params: Mapping[str, Any] | Namespace, *args: Any, **kwargs: Any
    ) -> None:
        """Record hyper-parameters; written to ``hparams.yaml`` on :meth:`save`.

        Args:
            params: a dict or Namespace.
            *args: ignored (other loggers take metrics here).
            **kwargs: ignored.
        """
        self.experiment.log_hparams(convert_params(params))

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Buffer one row of metrics; flushed when ``(step + 1) % flush_logs_every_n_steps == 0``.

        Args:
            metrics: name → number or one-element tensor.
            step: the global step (the ``step`` column).
        """
        if step is None:
            step = len(self.experiment.metrics)
        self.experiment.log_metrics(add_prefix(metrics, self._prefix, self.LOGGER_JOIN_CHAR), step)
        if (step + 1) % self._flush_logs_every_n_steps == 0:
            self.save()

    @rank_zero_only
    def save(self) -> None:
        """Write the buffered rows."""
        self.experiment.save()

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Write what is buffered; nothing is created when nothing was ever logged.

        Args:
            status: how the run ended.
        """
        if self._experiment is not None:
            self.save()
