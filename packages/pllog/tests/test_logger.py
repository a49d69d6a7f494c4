from __future__ import annotations

import copy
import pickle
from argparse import Namespace

import pytest

from plcore.interfaces import LoggerProtocol
from plcore.utilities.rank_zero import rank_zero_only
from pllog import Logger, rank_zero_experiment
from pllog.logger import _DummyExperiment


class RecordingLogger(Logger):
    """A user logger implementing only the four required members."""

    def __init__(self) -> None:
        self.metrics: list[tuple[dict, int | None]] = []
        self.params: list[dict] = []

    @property
    def name(self) -> str:
        return "recording"

    @property
    def version(self) -> int:
        return 7

    @rank_zero_only
    def log_metrics(self, metrics, step=None) -> None:
        self.metrics.append((dict(metrics), step))

    @rank_zero_only
    def log_hyperparams(self, params, *args, **kwargs) -> None:
        self.params.append(vars(params) if isinstance(params, Namespace) else dict(params))


def test_minimal_subclass_works_with_base_defaults() -> None:
    logger = RecordingLogger()
    logger.log_hyperparams(Namespace(lr=0.1))
    logger.log_metrics({"loss": 1.5}, step=3)
    logger.log_graph(object())
    logger.after_save_checkpoint(object())
    logger.save()
    logger.finalize("success")
    assert logger.metrics == [({"loss": 1.5}, 3)]
    assert logger.params == [{"lr": 0.1}]
    assert (logger.name, logger.version) == ("recording", 7)
    assert logger.root_dir is None and logger.log_dir is None and logger.save_dir is None
    assert logger.group_separator == "/"
    assert logger.experiment is None
    assert isinstance(logger, LoggerProtocol)


def test_finalize_calls_save() -> None:
    class Saving(RecordingLogger):
        saved = 0

        def save(self) -> None:
            self.saved += 1

    logger = Saving()
    logger.finalize("failed")
    assert logger.saved == 1


def test_subclass_missing_abstract_members_cannot_be_built() -> None:
    class Incomplete(Logger):
        @property
        def name(self) -> str:
            return "x"

    with pytest.raises(TypeError):
        Incomplete()  # type: ignore[abstract]


def test_logging_is_skipped_on_other_ranks(nonzero_rank: None) -> None:
    logger = RecordingLogger()
    logger.log_metrics({"loss": 1.0}, 0)
    assert logger.metrics == []


class _WithExperiment:
    created = 0

    @property
    @rank_zero_experiment
    def experiment(self) -> str:
        type(self).created += 1
        return "real"


def test_rank_zero_experiment_gives_the_real_object_on_rank_zero() -> None:
    assert _WithExperiment().experiment == "real"


def test_rank_zero_experiment_gives_a_dummy_elsewhere(nonzero_rank: None) -> None:
    _WithExperiment.created = 0
    experiment = _WithExperiment().experiment
    assert isinstance(experiment, _DummyExperiment)
    assert _WithExperiment.created == 0  # the real one is never built on other ranks
    assert experiment.add_scalar("x", 1.0, 0) is None
    assert experiment[0].anything(1, key=2) is None
    experiment["k"] = 3
    # copying / pickling must not be fooled by the catch-all attribute lookup
    assert isinstance(copy.deepcopy(experiment), _DummyExperiment)
    assert isinstance(pickle.loads(pickle.dumps(experiment)), _DummyExperiment)


def test_dummy_logger_records_nothing_and_answers_any_call():
    from pllog import DummyLogger

    logger = DummyLogger()
    assert logger.name == "" and logger.version == ""
    assert logger.save_dir is None and logger.log_dir is None
    logger.log_metrics({"a": 1.0}, step=0)
    logger.log_hyperparams({"lr": 0.1})
    assert logger.experiment.add_scalar("a", 1.0) is None
    assert logger.some_backend_method(1, x=2) is None
    assert logger[0] is logger
    assert pickle.loads(pickle.dumps(logger)).name == ""
    assert copy.deepcopy(logger).version == ""
