"""A dict with "lr_scheduler" as a config dict: interval="step", frequency=2, name; lrs per batch."""

import torch
from harness import T, pl, recorded
from models import Net, bare_trainer, loader, lrs


class StepNet(Net):
    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=self.lr)
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
        return {
            "optimizer": opt,
            "lr_scheduler": {"scheduler": sched, "interval": "step", "frequency": 2, "name": "exp"},
        }


class LrTrace(pl.Callback):
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        T.data["notes"].setdefault("lr_per_batch", []).append(lrs(trainer)[0][0])


def main() -> None:
    model = recorded(StepNet)()
    trainer = bare_trainer(
        max_epochs=2, limit_train_batches=3, limit_val_batches=1, callbacks=[LrTrace()]
    )
    T.fit(trainer, model, loader(), loader(32, seed=1))
    T.note("lrs", lrs(trainer))
    config = trainer.lr_scheduler_configs[0]
    T.note(
        "config",
        [
            config.interval,
            config.frequency,
            config.name,
            config.monitor,
            config.strict,
            config.reduce_on_plateau,
        ],
    )
    T.final(model)
