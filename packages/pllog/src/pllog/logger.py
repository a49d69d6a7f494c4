"""``Logger``: the base class of experiment loggers, and the ``rank_zero_experiment`` decorator.

A logger only has to name itself and write metrics and hyper-parameters; everything else has a
default. The smallest useful logger::

    from pllog import Logger
    from plcore.utilities.rank_zero import rank_zero_only

    class PrintLogger(Logger):
        @property
        def name(self):
            return "print"

        @property
        def version(self):
            return 0

        @rank_zero_only
        def log_metrics(self, metrics, step=None):
            print(step, metrics)

        @rank_zero_only
        def log_hyperparams(self, params, *args, **kwargs):
            print(params)

In a multi-process run only global rank 0 writes: the built-in loggers guard their writing methods
with ``rank_zero_only`` and build their ``experiment`` through :func:`rank_zero_experiment`.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from argparse import Namespace
from collections.abc import Callable, Mapping
from typing import Any

from plcore.utilities.rank_zero import rank_zero_only

__all__ = ["DummyLogger", "Logger", "rank_zero_experiment"]


class _DummyExperiment:
    """Stands in for ``experiment`` on ranks other than 0: every attribute is a do-nothing call."""

    def nop(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("__"):
            # copy, pickle and friends probe dunders; answering them with nop would break those.
            raise AttributeError(name)
        return self.nop

    def __getitem__(self, _: Any) -> _DummyExperiment:
        # experiment[0].add_scalar(...) is a no-op too (some experiments are lists).
        return self

    def __setitem__(self, *_: Any) -> None:
        return None


def rank_zero_experiment(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Decorate a logger's ``experiment`` getter so ranks other than 0 get a do-nothing object.

    Use it under ``@property``; the real experiment is then only ever created on rank 0.

    Args:
        fn: the getter that creates or returns the experiment.
    """

    @functools.wraps(fn)
    def experiment(self: Any) -> Any:
        if rank_zero_only.rank > 0:
            return _DummyExperiment()
        return fn(self)

    return experiment


class Logger(ABC):
    """Base class for experiment loggers (the Lightning 2.x ``Logger`` API).

    Subclasses implement :attr:`name`, :attr:`version`, :meth:`log_metrics` and
    :meth:`log_hyperparams`; the other members have working defaults.
    """

    @property
    @abstractmethod
    def name(self) -> str | None:
        """The experiment name."""

    @property
    @abstractmethod
    def version(self) -> int | str | None:
        """The experiment version (``version_<N>`` folders use the int)."""

    @property
    def root_dir(self) -> str | None:
        """The folder holding all versions of this experiment, if the logger writes to disk."""
        return None

    @property
    def log_dir(self) -> str | None:
        """The folder of this version, where the Trainer puts checkpoints by default."""
        return None

    @property
    def save_dir(self) -> str | None:
        """The folder the logger was told to write to, if any."""
        return None

    @property
    def group_separator(self) -> str:
        """Separates a metric group from its name (``"train/loss"``)."""
        return "/"

    @property
    def experiment(self) -> Any:
        """The backend object (e.g. a ``SummaryWriter``); None unless a subclass provides one."""
        return None

    @abstractmethod
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Record ``metrics`` at ``step``.

        Args:
            metrics: metric name → number (tensors allowed, converted by the logger).
            step: the global step, or None to let the logger count.
        """

    @abstractmethod
    def log_hyperparams(
        self, params: Mapping[str, Any] | Namespace, *args: Any, **kwargs: Any
    ) -> None:
        """Record the run's hyper-parameters.

        Args:
            params: a dict or an ``argparse.Namespace``.
            *args: logger-specific extras.
            **kwargs: logger-specific extras.
        """

    def log_graph(self, model: Any, input_array: Any = None) -> None:  # noqa: B027 (optional hook, no-op by design)
        """Record the model's computational graph; a no-op unless the logger supports it.

        Args:
            model: the module.
            input_array: an example input, or None to use ``model.example_input_array``.
        """

    def save(self) -> None:  # noqa: B027 (optional hook, no-op by design)
        """Flush what is buffered to the backend; a no-op by default."""

    def finalize(self, status: str) -> None:
        """Called once when the run ends; saves by default.

        Args:
            status: ``"success"``, ``"failed"`` or ``"finished"``.
        """
        self.save()

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:  # noqa: B027 (optional hook, no-op by design)
        """Called after a checkpoint is written (e.g. to upload it); a no-op by default.

        Args:
            checkpoint_callback: the ModelCheckpoint that saved.
        """


class DummyLogger(Logger):
    """A logger that records nothing: the Trainer's logger during ``fast_dev_run``.

    Any logger method (or attribute a user calls on it) is a no-op; ``name`` and ``version`` are
    empty strings, so a checkpoint folder derived from it is ``<default_root_dir>/checkpoints``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._experiment = _DummyExperiment()

    @property
    def experiment(self) -> Any:
        """A do-nothing experiment."""
        return self._experiment

    @property
    def name(self) -> str:
        """The empty string."""
        return ""

    @property
    def version(self) -> str:
        """The empty string."""
        return ""

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Record nothing."""

    def log_hyperparams(
        self, params: Mapping[str, Any] | Namespace, *args: Any, **kwargs: Any
    ) -> None:
        """Record nothing."""

    def __getitem__(self, index: int) -> DummyLogger:
        # ``trainer.logger[0]`` on a list-like logger still works.
        return self

    def __getattr__(self, name: str) -> Callable[..., None]:
        # Only reached for names not found normally; never touches ``self`` (unpickling calls
        # this before ``__dict__`` is back).
        if name.startswith("__") or name == "_experiment":
            raise AttributeError(name)
        return _DummyExperiment().nop
