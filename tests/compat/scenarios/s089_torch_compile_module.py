"""A torch.compile'd LightningModule passed to fit: it trains, and the weights are the numbers.

(The module does not call self.log: under torch 2.13, Lightning's self.log fails inside a
compiled training_step, which is not what this scenario is about.)
"""

import torch
from harness import T, pl
from models import Net, bare_trainer, loader


class Quiet(Net):
    def training_step(self, batch, batch_idx):
        return self.loss(batch)

    def validation_step(self, batch, batch_idx):
        return None


def main() -> None:
    pl.seed_everything(0)
    model = Quiet()
    compiled = torch.compile(model, backend="eager")
    trainer = bare_trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=1)
    T.fit(trainer, compiled, loader(), loader(32, seed=1))
    T.note("lightning_module_is_original", trainer.lightning_module is model)
    T.note("model_type", type(trainer.model).__name__)
    T.final(model)
