"""ReduceLROnPlateau with a monitor: stepped with val_loss at each epoch end; lrs after fit."""

import torch
from harness import T, recorded
from models import Net, bare_trainer, loader, lrs


class PlateauNet(Net):
    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=self.lr)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, patience=0, factor=0.5, threshold=10.0
        )
        return {"optimizer": opt, "lr_scheduler": sched, "monitor": "val_loss"}


def main() -> None:
    model = recorded(PlateauNet)()
    trainer = bare_trainer(max_epochs=3, limit_train_batches=2, limit_val_batches=1)
    T.fit(trainer, model, loader(), loader(32, seed=1))
    T.note("lrs", lrs(trainer))
    config = trainer.lr_scheduler_configs[0]
    T.note("config", [config.interval, config.frequency, config.monitor, config.reduce_on_plateau])
    T.final(model)
