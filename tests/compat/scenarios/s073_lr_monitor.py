"""LearningRateMonitor(logging_interval="step", log_momentum=True) with SGD + momentum and a
StepLR scheduler, and with logging_interval="epoch" and Adam: the keys and values logged."""

import torch
from harness import T, pl
from models import DataModule, Net, quiet_trainer


class Sched(Net):
    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
        return [opt], [torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)]


class AdamNet(Net):
    def configure_optimizers(self):
        opt = torch.optim.Adam(self.parameters(), lr=0.01)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.1)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def main() -> None:
    logger = pl.loggers.CSVLogger("logs", name="step")
    mon = pl.callbacks.LearningRateMonitor(logging_interval="step", log_momentum=True)
    trainer = quiet_trainer(
        max_epochs=2,
        callbacks=[mon],
        logger=logger,
        limit_train_batches=2,
        limit_val_batches=1,
        log_every_n_steps=1,
    )
    T.fit(trainer, Sched(), datamodule=DataModule())
    T.note("step_names", mon.lrs and list(mon.lrs))
    logger2 = pl.loggers.CSVLogger("logs", name="epoch")
    mon2 = pl.callbacks.LearningRateMonitor(
        logging_interval="epoch", log_momentum=True, log_weight_decay=True
    )
    trainer2 = quiet_trainer(
        max_epochs=2,
        callbacks=[mon2],
        logger=logger2,
        limit_train_batches=3,
        limit_val_batches=1,
        log_every_n_steps=1,
    )
    torch.manual_seed(1)
    model = AdamNet()
    T.fit(trainer2, model, datamodule=DataModule())
    T.note("epoch_names", list(mon2.lrs))
    T.note("epoch_lrs", {k: v for k, v in mon2.lrs.items()})
    T.final(model)
