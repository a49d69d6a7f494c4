"""Several dicts (two optimizers, each with a scheduler) under manual optimization.

self.optimizers() and self.lr_schedulers() as lists, toggle_optimizer, global_step counting one
per optimizer step, schedulers stepped by the user.
"""

import torch
from harness import T, recorded
from models import Net, bare_trainer, loader, lrs


class TwoOptNet(Net):
    def __init__(self):
        super().__init__()
        self.automatic_optimization = False
        self.other = torch.nn.Linear(8, 1)

    def training_step(self, batch, batch_idx):
        opt_a, opt_b = self.optimizers()
        sched_a, sched_b = self.lr_schedulers()
        x, y = batch
        for opt, layer in ((opt_a, self.layer), (opt_b, self.other)):
            self.toggle_optimizer(opt)
            loss = torch.nn.functional.mse_loss(layer(x), y)
            opt.zero_grad()
            self.manual_backward(loss)
            opt.step()
            self.untoggle_optimizer(opt)
        if self.trainer.is_last_batch:
            sched_a.step()
            sched_b.step()
        self.log("loss", loss)

    def configure_optimizers(self):
        opt_a = torch.optim.SGD(self.layer.parameters(), lr=0.1)
        opt_b = torch.optim.Adam(self.other.parameters(), lr=0.01)
        return [
            {"optimizer": opt_a, "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt_a, 1, 0.5)},
            {
                "optimizer": opt_b,
                "lr_scheduler": {
                    "scheduler": torch.optim.lr_scheduler.StepLR(opt_b, 1, 0.1),
                    "name": "b",
                },
            },
        ]


def main() -> None:
    model = recorded(TwoOptNet)()
    trainer = bare_trainer(max_epochs=2, limit_train_batches=3, limit_val_batches=1)
    T.fit(trainer, model, loader(), loader(32, seed=1))
    T.note("lrs", lrs(trainer))
    T.note("n_optimizers", len(trainer.optimizers))
    T.note("optimizer_types", [type(o).__name__ for o in trainer.optimizers])
    T.note("scheduler_names", [c.name for c in trainer.lr_scheduler_configs])
    T.final(model)
