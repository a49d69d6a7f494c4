"""configure_optimizers returns ([optimizer], [StepLR]): scheduler steps per epoch, lrs after fit."""

import torch
from harness import T, recorded
from models import Net, bare_trainer, loader, lrs


class ListsNet(Net):
    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=self.lr)
        return [opt], [torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)]


def main() -> None:
    model = recorded(ListsNet)()
    trainer = bare_trainer(max_epochs=3, limit_train_batches=2, limit_val_batches=1)
    T.fit(trainer, model, loader(), loader(32, seed=1))
    T.note("lrs", lrs(trainer))
    T.note("n_schedulers", len(trainer.lr_scheduler_configs))
    config = trainer.lr_scheduler_configs[0]
    T.note("config", [config.interval, config.frequency, config.name, config.monitor])
    T.note("scheduler_last_lr", config.scheduler.get_last_lr())
    T.final(model)
