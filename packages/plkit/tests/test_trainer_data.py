"""Data forms: loaders, iterables, lists/dicts of loaders, batch types, several eval loaders."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

import plkit as pl

Pair = namedtuple("Pair", ["x", "y"])


@dataclass
class Batch:
    x: torch.Tensor
    y: torch.Tensor


def make(**kw):
    defaults = dict(
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
        num_sanity_val_steps=0,
    )
    defaults.update(kw)
    return pl.Trainer(**defaults)


class Seen(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(2, 1)
        self.batches = []
        self.val_calls = []

    def training_step(self, batch, batch_idx):
        self.batches.append(batch)
        return self.layer(torch.ones(1, 2)).sum()

    def validation_step(self, batch, batch_idx, dataloader_idx=0):
        self.val_calls.append((dataloader_idx, batch_idx))
        self.log("v", float(dataloader_idx + 1))

    def test_step(self, batch, batch_idx, dataloader_idx=0):
        self.log("t", float(batch_idx))

    def predict_step(self, batch, batch_idx, dataloader_idx=0):
        return dataloader_idx

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def xs(n):
    return torch.arange(float(n)).unsqueeze(1).repeat(1, 2)


@pytest.mark.parametrize(
    "dataset,check",
    [
        ([(xs(1)[0], torch.zeros(1))] * 2, lambda b: isinstance(b, list) and len(b) == 2),
        ([{"x": xs(1)[0], "y": torch.zeros(1)}] * 2, lambda b: set(b) == {"x", "y"}),
        ([Pair(xs(1)[0], torch.zeros(1))] * 2, lambda b: isinstance(b, Pair)),
    ],
)
def test_batch_structures_reach_training_step(dataset, check):
    model = Seen()
    make().fit(model, DataLoader(dataset, batch_size=1))
    assert len(model.batches) == 2 and all(check(b) for b in model.batches)


def test_dataclass_batches_and_plain_iterables():
    model = Seen()
    batches = [Batch(xs(2), torch.zeros(2, 1)) for _ in range(3)]

    class Batches:  # any iterable of batches works (a list would mean several loaders)
        def __iter__(self):
            return iter(batches)

    make().fit(model, Batches())
    assert [type(b) for b in model.batches] == [Batch] * 3


def test_list_of_train_loaders_cycles_to_the_longest():
    model = Seen()
    make().fit(model, [DataLoader(xs(4), batch_size=1), DataLoader(xs(2), batch_size=1)])
    assert len(model.batches) == 4
    assert [b[1][0, 0].item() for b in model.batches] == [0.0, 1.0, 0.0, 1.0]


def test_dict_of_train_loaders():
    model = Seen()
    make().fit(model, {"a": DataLoader(xs(3), batch_size=1), "b": DataLoader(xs(1), batch_size=1)})
    assert all(set(b) == {"a", "b"} for b in model.batches) and len(model.batches) == 3


def test_several_val_loaders_get_dataloader_idx_and_suffixes():
    model = Seen()
    t = make()
    t.fit(
        model,
        DataLoader(xs(2), batch_size=1),
        [DataLoader(xs(2), batch_size=1), DataLoader(xs(3), batch_size=1)],
    )
    assert model.val_calls == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)]
    assert set(t.callback_metrics) == {"v/dataloader_idx_0", "v/dataloader_idx_1"}
    results = t.validate(
        model, [DataLoader(xs(1), batch_size=1), DataLoader(xs(1), batch_size=1)], verbose=False
    )
    assert results == [{"v/dataloader_idx_0": 1.0}, {"v/dataloader_idx_1": 2.0}]


def test_predict_returns_a_list_per_dataloader_and_respects_return_predictions():
    model = Seen()
    t = make()
    assert t.predict(model, DataLoader(xs(2), batch_size=1)) == [0, 0]
    out = t.predict(model, [DataLoader(xs(2), batch_size=1), DataLoader(xs(1), batch_size=1)])
    assert out == [[0, 0], [1]]
    assert t.predict(model, DataLoader(xs(2), batch_size=1), return_predictions=False) is None


class DM(pl.LightningDataModule):
    def __init__(self):
        super().__init__()
        self.calls = []

    def prepare_data(self):
        self.calls.append("prepare_data")

    def setup(self, stage):
        self.calls.append(f"setup:{stage}")

    def train_dataloader(self):
        return DataLoader(xs(3), batch_size=1)

    def val_dataloader(self):
        return DataLoader(xs(2), batch_size=1)

    def test_dataloader(self):
        return DataLoader(xs(2), batch_size=1)

    def teardown(self, stage):
        self.calls.append(f"teardown:{stage}")

    def state_dict(self):
        return {"calls": len(self.calls)}


def test_datamodule_hooks_in_order_and_positional_datamodule(tmp_path):
    model, dm = Seen(), DM()
    t = make(enable_checkpointing=True, default_root_dir=tmp_path)
    t.fit(model, dm)  # as in the seed document: trainer.fit(model, data)
    # the hooks get the TrainerFn member, printed as Lightning prints it
    assert dm.calls == [
        "prepare_data",
        "setup:TrainerFn.FITTING",
        "teardown:TrainerFn.FITTING",
    ]
    assert t.datamodule is dm and dm.trainer is t
    ckpt = torch.load(t.checkpoint_callback.best_model_path, weights_only=True)
    assert ckpt["DM"] == {"calls": 2}
    t.test(model, datamodule=dm, verbose=False)
    assert dm.calls[-2:] == ["setup:TrainerFn.TESTING", "teardown:TrainerFn.TESTING"]


def test_validate_and_test_return_metrics_and_print_a_table(capsys):
    model = Seen()
    t = make()
    out = t.test(model, DataLoader(xs(3), batch_size=1))
    assert out == [{"t": 1.0}]
    printed = capsys.readouterr().out
    assert "Test metric" in printed and "DataLoader 0" in printed and "t" in printed


def test_batches_are_moved_by_a_custom_transfer_hook():
    class Custom(Seen):
        def transfer_batch_to_device(self, batch, device, dataloader_idx):
            return batch * 10

    model = Custom()
    make().fit(model, DataLoader(xs(2), batch_size=1))
    assert model.batches[1][0, 0].item() == 10.0


def test_on_train_batch_start_returning_minus_one_ends_the_epoch():
    class Stop(Seen):
        def on_train_batch_start(self, batch, batch_idx):
            return -1 if batch_idx == 2 else None

    model = Stop()
    t = make(max_epochs=2)
    t.fit(model, DataLoader(xs(5), batch_size=1))
    assert len(model.batches) == 4 and t.current_epoch == 2


def test_training_step_returning_none_skips_the_update():
    class Skip(Seen):
        def training_step(self, batch, batch_idx):
            return None

    model = Skip()
    before = [p.clone() for p in model.parameters()]
    make().fit(model, DataLoader(xs(3), batch_size=1))
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_validation_loader_without_validation_step_warns_and_skips():
    class NoVal(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(2, 1)

        def training_step(self, batch, batch_idx):
            return self.layer(batch).sum()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    with pytest.warns(UserWarning, match="no `validation_step`"):
        make().fit(NoVal(), DataLoader(xs(2), batch_size=1), DataLoader(xs(2), batch_size=1))
