"""strategy="ddp", devices=2 on CPU (the script re-run for rank 1): the DistributedSampler put
into the loaders (shuffled for training, not for validation; seed, drop_last, padding), the
samples each rank sees per epoch, and weights equal on both ranks at the end."""

from typing import Any

import torch
from harness import T, pl
from models import Net, bare_trainer
from torch.utils.data import DataLoader, Dataset


class Indexed(Dataset):
    """``n`` regression samples that also carry their index."""

    def __init__(self, n: int, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 8, generator=generator)
        self.y = self.x.sum(1, keepdim=True)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> Any:
        return self.x[i], self.y[i], i


def _sampler(loader: Any) -> dict[str, Any]:
    s = loader.sampler
    return {
        "type": type(s).__name__,
        "shuffle": getattr(s, "shuffle", None),
        "seed": getattr(s, "seed", None),
        "drop_last": getattr(s, "drop_last", None),
        "num_replicas": getattr(s, "num_replicas", None),
        "rank": getattr(s, "rank", None),
        "epoch": getattr(s, "epoch", None),
        "len": len(s),
        "loader_drop_last": loader.drop_last,
        "batch_size": loader.batch_size,
    }


class Spy(pl.Callback):
    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        T.hook("spy", "train_sampler", **_sampler(trainer.train_dataloader))

    def on_validation_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        T.hook("spy", "val_sampler", **_sampler(trainer.val_dataloaders))


class Model(Net):
    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y, idx = batch
        T.hook("model", "train_idx", epoch=self.current_epoch, idx=idx.tolist())
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y, idx = batch
        if not self.trainer.sanity_checking:
            T.hook("model", "val_idx", idx=idx.tolist())
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))


def main() -> None:
    model = Model()
    trainer = bare_trainer(
        accelerator="cpu", strategy="ddp", devices=2, max_epochs=2, callbacks=[Spy()]
    )
    train = DataLoader(Indexed(16, 0), batch_size=4, shuffle=True)
    val = DataLoader(Indexed(9, 1), batch_size=4)
    T.fit(trainer, model, train, val)
    T.note("rank", [trainer.global_rank, trainer.local_rank, trainer.world_size])
    T.final(model)
