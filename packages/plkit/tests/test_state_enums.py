"""``trainer.state``'s members print, format and compare as Lightning's LightningEnum does."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

import plkit as pl
from plkit.trainer import RunningStage, TrainerFn, TrainerStatus
from plkit.utilities import LightningEnum


def test_members_print_as_enum_members_and_compare_to_strings_in_any_case():
    status = TrainerStatus.FINISHED
    assert str(status) == f"{status}" == f"{status}" == "TrainerStatus.FINISHED"
    assert repr(status) == "<TrainerStatus.FINISHED: 'finished'>"
    assert status == "finished" == status and status == "FINISHED" and status != "running"
    assert TrainerFn.FITTING == "Fit" and TrainerFn.FITTING != "fitting"
    assert {"fit": 1}[TrainerFn.FITTING] == 1 and "-".join([TrainerFn.FITTING, "x"]) == "fit-x"
    assert RunningStage.SANITY_CHECKING.dataloader_prefix == "val"
    assert RunningStage.TESTING.dataloader_prefix == "test"
    assert TrainerStatus.FINISHED.stopped and not TrainerStatus.RUNNING.stopped


def test_from_str_and_try_from_str():
    assert TrainerFn.from_str("fitting") is TrainerFn.FITTING
    assert TrainerFn.from_str("fit", source="value") is TrainerFn.FITTING
    with pytest.raises(ValueError, match=r"Invalid match: expected one of \['FITTING'"):
        TrainerFn.from_str("fit")
    with pytest.warns(UserWarning, match="Invalid string"):
        assert TrainerFn.try_from_str("nope") is None
    assert issubclass(TrainerFn, LightningEnum)


class Model(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.seen: list[str] = []

    def setup(self, stage):
        self.seen.append(repr(stage))

    def training_step(self, batch, batch_idx):
        self.seen.append(f"{self.trainer.state.stage} {self.trainer.state.status}")
        return self.layer(batch).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_a_fit_prints_lightning_s_state(capsys):
    trainer = pl.Trainer(
        max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    model = Model()
    trainer.fit(model, DataLoader(torch.randn(4, 2), batch_size=2))
    print(trainer.state.status, trainer.state.fn)
    assert capsys.readouterr().out.splitlines()[-1] == "TrainerStatus.FINISHED TrainerFn.FITTING"
    assert model.seen == [
        "<TrainerFn.FITTING: 'fit'>",
        "RunningStage.TRAINING TrainerStatus.RUNNING",
    ]
    assert trainer.state.finished and trainer.state.stopped
