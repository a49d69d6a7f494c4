"""overfit_batches=2 with a shuffled training loader (the same first batches every epoch, in
order), and overfit_batches=0.25: batch counts, and the data the loops see."""

from typing import Any

import torch
from harness import T
from models import Flow, Net, bare_trainer, flags_of, loader


class Seen(Net):
    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        T.hook("model", "train_x", sum=round(float(batch[0].sum()), 4))
        return super().training_step(batch, batch_idx)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        T.hook("model", "val_x", sum=round(float(batch[0].sum()), 4))
        super().validation_step(batch, batch_idx)


def main() -> None:
    model = Seen()
    trainer = bare_trainer(max_epochs=2, overfit_batches=2, callbacks=[Flow()])
    T.fit(trainer, model, loader(shuffle=True), loader(n=48, seed=1))
    T.note("flags_int", flags_of(trainer))
    frac = bare_trainer(max_epochs=1, overfit_batches=0.25, callbacks=[Flow()])
    T.fit(frac, model, loader(n=128), loader(n=64, seed=1))
    T.note("flags_float", flags_of(frac))
    T.final(model)
