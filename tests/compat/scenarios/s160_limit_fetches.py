"""limit_*_batches and fast_dev_run: how many samples each loop fetches from a counting dataset
(none past the limit), and from a stream without length (one ahead, to know the last batch)."""

import torch
from harness import T, pl
from torch.utils.data import DataLoader, Dataset, IterableDataset

COUNTS: dict[str, int] = {}


class Counted(Dataset):
    def __init__(self, name: str) -> None:
        self.name = name

    def __len__(self) -> int:
        return 10

    def __getitem__(self, i: int) -> torch.Tensor:
        COUNTS[self.name] = COUNTS.get(self.name, 0) + 1
        return torch.ones(2)


class Stream(IterableDataset):
    def __init__(self, name: str) -> None:
        self.name = name

    def __iter__(self):
        for _ in range(10):
            COUNTS[self.name] = COUNTS.get(self.name, 0) + 1
            yield torch.ones(2)


class Model(pl.LightningModule):
    def __init__(self, stream: bool) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.stream = stream

    def training_step(self, batch, batch_idx):
        COUNTS.setdefault("last", 0)
        if self.trainer.is_last_batch:
            COUNTS["last"] = batch_idx
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
        return DataLoader(Stream(name) if self.stream else Counted(name), batch_size=1)

    def train_dataloader(self):
        return self._loader("train")

    def val_dataloader(self):
        return self._loader("val")

    def test_dataloader(self):
        return self._loader("test")

    def predict_dataloader(self):
        return self._loader("predict")


CASES = {
    "ints": dict(
        limit_train_batches=3, limit_val_batches=2, limit_test_batches=2, limit_predict_batches=2
    ),
    "sanity": dict(limit_train_batches=3, limit_val_batches=4, num_sanity_val_steps=2),
    "fast_dev_run": dict(fast_dev_run=True),
    "fast_dev_run_2": dict(fast_dev_run=2),
    "max_steps": dict(max_steps=2, limit_val_batches=0),
    "fractions": dict(
        limit_train_batches=0.5,
        limit_val_batches=0.3,
        limit_test_batches=0.3,
        limit_predict_batches=0.5,
    ),
}


def main() -> None:
    for stream in (False, True):
        for name, flags in CASES.items():
            if stream and name == "fractions":
                continue
            flags = {"num_sanity_val_steps": 0, **flags}
            trainer = pl.Trainer(
                max_epochs=1,
                logger=False,
                enable_checkpointing=False,
                enable_progress_bar=False,
                enable_model_summary=False,
                **flags,
            )
            model = Model(stream)
            COUNTS.clear()
            trainer.fit(model)
            trainer.test(model, verbose=False)
            trainer.predict(model)
            T.note(f"{'stream' if stream else 'sized'}_{name}", dict(sorted(COUNTS.items())))
