"""Two validation loaders in fit and validate: dataloader_idx in hooks and steps, results per loader."""

from typing import Any

from harness import RecordingCallback, T, recorded
from models import Net, loader, quiet_trainer


class TwoVal(Net):
    def validation_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        T.hook("model", "validation_step", batch_idx=batch_idx, dataloader_idx=dataloader_idx)
        self.log("val_loss", self.loss(batch))
        self.log(f"only_{dataloader_idx}", float(batch_idx), add_dataloader_idx=False)

    def test_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        T.hook("model", "test_step", batch_idx=batch_idx, dataloader_idx=dataloader_idx)
        self.log("test_loss", self.loss(batch))


def main() -> None:
    model = recorded(TwoVal)()
    trainer = quiet_trainer(
        callbacks=[RecordingCallback()],
        max_epochs=1,
        limit_train_batches=2,
        limit_val_batches=2,
        num_sanity_val_steps=1,
    )
    vals = [loader(32, seed=1), loader(48, seed=2)]
    T.fit(trainer, model, loader(64), vals)
    T.validate(trainer, model, [loader(32, seed=1), loader(48, seed=2)])
    T.test(trainer, model, [loader(32, seed=3), loader(16, seed=4, batch_size=8)])
    T.final(model)
