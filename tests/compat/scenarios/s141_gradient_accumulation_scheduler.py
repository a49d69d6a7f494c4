"""GradientAccumulationScheduler({1: 2, 3: 3}): trainer.accumulate_grad_batches per epoch, the
steps taken, the weights; and Lightning's errors (Trainer(accumulate_grad_batches=2) with the
callback, manual optimization, bad schedules)."""

import torch
from harness import T, pl
from models import Net, bare_trainer, caught, loader


class Watch(pl.Callback):
    def on_train_epoch_start(self, trainer, pl_module):
        T.hook("watch", "epoch_start", acc=trainer.accumulate_grad_batches)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        T.hook("watch", "batch_end", step=trainer.global_step, loss=outputs["loss"])


class Manual(Net):
    def __init__(self):
        super().__init__()
        self.automatic_optimization = False

    def training_step(self, batch, batch_idx):
        opt = self.optimizers()
        loss = self.loss(batch)
        opt.zero_grad()
        self.manual_backward(loss)
        opt.step()


def main() -> None:
    torch.manual_seed(0)
    model = Net()
    sched = pl.callbacks.GradientAccumulationScheduler(scheduling={1: 2, 3: 3})
    trainer = bare_trainer(max_epochs=5, callbacks=[Watch(), sched])
    T.fit(trainer, model, train_dataloaders=loader(80, 8))
    T.note("scheduling", {str(k): v for k, v in sorted(sched.scheduling.items())})
    T.note("after", trainer.accumulate_grad_batches)
    T.note("factor_of", [sched.get_accumulate_grad_batches(e) for e in range(6)])
    T.final(model)
    # a second fit on the same Trainer: the factor left by the last epoch is not 1
    T.note("refit", caught(lambda: trainer.fit(Net(), train_dataloaders=loader(16, 8))))
    GAS = pl.callbacks.GradientAccumulationScheduler
    T.note(
        "with_trainer_flag",
        caught(
            lambda: bare_trainer(
                max_epochs=1, accumulate_grad_batches=2, callbacks=[GAS({0: 2})]
            ).fit(Net(), train_dataloaders=loader(16, 8))
        ),
    )
    T.note(
        "manual",
        caught(
            lambda: bare_trainer(max_epochs=1, callbacks=[GAS({0: 2})]).fit(
                Manual(), train_dataloaders=loader(16, 8)
            )
        ),
    )
    for bad in ({}, {-1: 2}, {"1": 2}, {0: 0}, {1: 1.5}):
        T.note(f"bad_{bad}", caught(lambda: GAS(dict(bad))))
