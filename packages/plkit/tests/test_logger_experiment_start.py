"""The Trainer starts each logger's experiment after prepare_data and before any setup hook,
in every entry point, as Lightning does (so that runs exist, with their ids, in ``setup``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from pllog import Logger, rank_zero_experiment

EVENTS: list[str] = []


class StartRecordingLogger(Logger):
    def __init__(self) -> None:
        self.started = 0

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        EVENTS.append("experiment")
        self.started += 1
        return self

    @property
    def name(self) -> str:
        return "rec"

    @property
    def version(self) -> int:
        return 0  # reading the version starts nothing

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        pass

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass


class Model(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def prepare_data(self) -> None:
        EVENTS.append("prepare_data")

    def setup(self, stage: str) -> None:
        EVENTS.append(f"setup:{stage}")

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self.layer(batch[0]).sum()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        pass

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


class Callback(pl.Callback):
    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        EVENTS.append("callback setup")


@pytest.mark.parametrize("fn", ["fit", "validate"])
def test_experiment_starts_before_setup(tmp_path: Any, fn: str) -> None:
    EVENTS.clear()
    data = DataLoader(TensorDataset(torch.randn(4, 2)), batch_size=2)
    loggers = [StartRecordingLogger(), StartRecordingLogger()]
    trainer = pl.Trainer(
        max_epochs=1,
        logger=loggers,
        callbacks=[Callback()],
        default_root_dir=tmp_path,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    getattr(trainer, fn)(Model(), data, data) if fn == "fit" else trainer.validate(Model(), data)
    stage = "TrainerFn.FITTING" if fn == "fit" else "TrainerFn.VALIDATING"  # as Lightning prints
    # Lightning's `hasattr(logger, "experiment")` evaluates the property too: each logger is
    # touched (at least) once, all of them between prepare_data and the first setup hook
    first_setup = EVENTS.index("callback setup")
    assert EVENTS[0] == "prepare_data"
    assert set(EVENTS[1:first_setup]) == {"experiment"}
    assert EVENTS[first_setup + 1] == f"setup:{stage}"
    assert "experiment" not in EVENTS[first_setup:]
    assert all(lg.started >= 1 for lg in loggers)


def test_other_ranks_touch_only_the_dummy(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from plcore.utilities.rank_zero import rank_zero_only

    EVENTS.clear()
    logger = StartRecordingLogger()
    saved = rank_zero_only.rank
    rank_zero_only.rank = 1
    try:
        assert logger.experiment is not logger  # the do-nothing experiment
    finally:
        rank_zero_only.rank = saved
    assert EVENTS == [] and logger.started == 0
