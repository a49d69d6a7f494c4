"""How many batches the loops fetch: none past a ``limit_*_batches`` limit (as Lightning), and,
for an iterable without length, one ahead so the last batch is known."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset

import plkit as pl


class Counted(Dataset):
    def __init__(self, counts: dict[str, int], name: str, n: int = 10) -> None:
        self.counts, self.name, self.n = counts, name, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        self.counts[self.name] = self.counts.get(self.name, 0) + 1
        return torch.ones(2)


class CountedStream(IterableDataset):
    def __init__(self, counts: dict[str, int], name: str, n: int = 10) -> None:
        self.counts, self.name, self.n = counts, name, n

    def __iter__(self):
        for _ in range(self.n):
            self.counts[self.name] = self.counts.get(self.name, 0) + 1
            yield torch.ones(2)


class Model(pl.LightningModule):
    def __init__(self, stream: bool) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 1)
        self.stream = stream
        self.counts: dict[str, int] = {}
        self.last: list[int] = []

    def training_step(self, batch, batch_idx):
        if self.trainer.is_last_batch:
            self.last.append(batch_idx)
        return self.layer(batch).sum()

    def validation_step(self, batch, batch_idx):
        pass

    def test_step(self, batch, batch_idx):
        pass

    def predict_step(self, batch, batch_idx):
        return batch_idx

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def _loader(self, name: str) -> DataLoader:
        data = CountedStream if self.stream else Counted
        return DataLoader(data(self.counts, name), batch_size=1)

    def train_dataloader(self):
        return self._loader("train")

    def val_dataloader(self):
        return self._loader("val")

    def test_dataloader(self):
        return self._loader("test")

    def predict_dataloader(self):
        return self._loader("predict")


def fetches(stream: bool, **kw) -> tuple[dict[str, int], list[int]]:
    trainer = pl.Trainer(
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        **kw,
    )
    model = Model(stream)
    trainer.fit(model)
    trainer.test(model, verbose=False)
    trainer.predict(model)
    return model.counts, model.last


LIMITS = dict(limit_train_batches=3, limit_val_batches=2, limit_test_batches=2)


@pytest.mark.parametrize("stream", [False, True], ids=["sized", "stream"])
@pytest.mark.parametrize(
    ("flags", "counts", "last"),
    [
        (
            dict(LIMITS, limit_predict_batches=2, num_sanity_val_steps=0),
            {"train": 3, "val": 2, "test": 2, "predict": 2},
            [2],
        ),
        (  # sanity check 2 + validation 4
            dict(limit_train_batches=3, limit_val_batches=4, num_sanity_val_steps=2),
            {"train": 3, "val": 6, "test": 10, "predict": 10},
            [2],
        ),
        (dict(fast_dev_run=True), {"train": 1, "val": 1, "test": 1, "predict": 1}, [0]),
        (dict(fast_dev_run=2), {"train": 2, "val": 2, "test": 2, "predict": 2}, [1]),
    ],
)
def test_no_batch_is_fetched_past_a_limit(stream, flags, counts, last):
    assert fetches(stream, **flags) == (counts, last)


def test_fractions_fetch_only_the_batches_they_select():
    counts, _ = fetches(
        False,
        limit_train_batches=0.5,
        limit_val_batches=0.3,
        limit_test_batches=0.3,
        limit_predict_batches=0.5,
        num_sanity_val_steps=0,
    )
    assert counts == {"train": 5, "val": 3, "test": 3, "predict": 5}


def test_a_stream_without_length_is_read_one_batch_ahead():
    """max_steps stops after 2 batches, but the third was fetched to know the second's not last
    (Lightning's prefetching fetcher does the same)."""
    counts, last = fetches(True, max_steps=2, limit_val_batches=0)
    assert counts == {"train": 3, "test": 10, "predict": 10}
    assert last == []


def test_a_fraction_of_a_stream_is_lightning_s_error():
    from plkit.utilities.exceptions import MisconfigurationException

    with pytest.raises(MisconfigurationException, match="limit_train_batches=0.5"):
        fetches(True, limit_train_batches=0.5)
