"""A ``validation_step`` without a validation loader, then a validation loader without a
``validation_step``: what Lightning says (warnings and their categories) and what runs."""

import torch
from harness import T, pl
from models import Net, loader, quiet_trainer


class NoValStep(pl.LightningModule):
    """A regressor with training_step only."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(8, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def main() -> None:
    model = Net()
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=2)
    T.fit(trainer, model, train_dataloaders=loader(64))
    other = NoValStep()
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=2)
    try:
        T.fit(trainer, other, train_dataloaders=loader(64), val_dataloaders=loader(32, seed=1))
    except Exception:
        pass  # recorded by T.fit
    T.final(model)
