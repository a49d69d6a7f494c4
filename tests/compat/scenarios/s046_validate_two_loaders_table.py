"""``trainer.validate`` with two dataloaders: the results table with one column per dataloader
and the bar descriptions ``Validation DataLoader 0`` / ``1``."""

from harness import T
from models import Net, loader, quiet_trainer


class TwoLoaders(Net):
    def validation_step(self, batch, batch_idx, dataloader_idx=0):
        self.log("val_loss", self.loss(batch))
        if dataloader_idx == 1:
            self.log("extra", self.loss(batch) * 2)


def main() -> None:
    model = TwoLoaders()
    trainer = quiet_trainer()
    result = T.validate(trainer, model, dataloaders=[loader(32, seed=1), loader(48, seed=2)])
    T.note("result", result)
