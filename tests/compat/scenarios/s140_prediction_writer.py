"""BasePredictionWriter: what write_on_batch_end / write_on_epoch_end receive (predictions,
batch_indices from a shuffled loader, dataloader_idx), files written, and the interplay with
return_predictions (epoch writers keep predictions even when they are not returned)."""

import os

import torch
from harness import T, pl
from models import Net, bare_trainer, loader, regression_data
from torch.utils.data import DataLoader


class Writer(pl.callbacks.BasePredictionWriter):
    def __init__(self, folder, write_interval):
        super().__init__(write_interval)
        self.folder = folder
        os.makedirs(folder, exist_ok=True)

    def write_on_batch_end(
        self, trainer, pl_module, prediction, batch_indices, batch, batch_idx, dataloader_idx
    ):
        T.hook(
            "writer",
            "batch",
            indices=list(batch_indices),
            batch_idx=batch_idx,
            dataloader_idx=dataloader_idx,
            prediction=prediction,
        )
        torch.save(prediction, os.path.join(self.folder, f"{dataloader_idx}_{batch_idx}.pt"))

    def write_on_epoch_end(self, trainer, pl_module, predictions, batch_indices):
        T.hook(
            "writer",
            "epoch",
            n=len(predictions),
            indices=batch_indices,
            kept=trainer.predict_loop.predictions is predictions,
        )
        torch.save(predictions, os.path.join(self.folder, "predictions.pt"))
        torch.save(batch_indices, os.path.join(self.folder, "batch_indices.pt"))


def shuffled() -> DataLoader:
    generator = torch.Generator().manual_seed(3)
    return DataLoader(regression_data(20, 2), batch_size=6, shuffle=True, generator=generator)


def main() -> None:
    model = Net()
    for interval, keep in (("batch", True), ("epoch", False), ("batch_and_epoch", True)):
        writer = Writer(f"preds_{interval}", interval)
        out = T.predict(
            bare_trainer(callbacks=[writer]),
            model,
            dataloaders=shuffled(),
            return_predictions=keep,
        )
        T.note(f"{interval}_returned", out)
    # two dataloaders: dataloader_idx and indices per loader
    writer = Writer("preds_two", "batch_and_epoch")
    trainer = bare_trainer(callbacks=[writer])
    T.predict(trainer, model, dataloaders=[loader(12, 5), shuffled()], return_predictions=False)
    T.note("after_predictions", trainer.predict_loop.predictions)
    T.note("after_indices", trainer.predict_loop.epoch_batch_indices)
    # limit_predict_batches: indices of the batches run only
    writer = Writer("preds_limit", "epoch")
    T.predict(
        bare_trainer(callbacks=[writer], limit_predict_batches=2), model, dataloaders=shuffled()
    )
    T.note("bad_interval", _raises(lambda: Writer("x", "step")))


def _raises(fn):
    try:
        fn()
    except Exception as exc:
        return type(exc).__name__
    return None
