"""The sanity check: hooks, num_sanity_val_batches with two loaders, -1, 0, its discarded logs,
and the global RNG after fit."""

from typing import Any

import torch
from harness import RecordingCallback, T, recorded
from models import Net, loader, quiet_trainer


class TwoVal(Net):
    def validation_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self.log("val_loss", self.loss(batch))
        self.log(f"sanity_{dataloader_idx}", float(self.trainer.sanity_checking))


def run(steps: int) -> None:
    torch.manual_seed(0)  # each run from the same weights, whatever the previous run drew
    model = recorded(TwoVal)()
    trainer = quiet_trainer(
        callbacks=[RecordingCallback()],
        max_epochs=1,
        limit_train_batches=1,
        limit_val_batches=3,
        num_sanity_val_steps=steps,
        logger=False,
        enable_checkpointing=False,
    )
    T.fit(trainer, model, loader(32), [loader(32, seed=1), loader(16, seed=2, batch_size=8)])
    # The sanity check leaves the global RNG alone in both; fit's validation does in plkit only
    # (docs/differences.md, "Validation does not consume the training random numbers").
    T.note(f"rng_after_fit_{steps}", torch.randint(0, 2**31, (1,)).item())


def main() -> None:
    for steps in (2, -1, 0):
        T.hook("scenario", "run", num_sanity_val_steps=steps)
        run(steps)
