"""Manual optimization with one optimizer and a scheduler: self.optimizers() (a
LightningOptimizer), manual_backward, lr_schedulers(), global_step, hooks."""

import torch
from harness import RecordingCallback, T, recorded
from models import Net, bare_trainer, loader, lrs


class ManualNet(Net):
    def __init__(self):
        super().__init__()
        self.automatic_optimization = False

    def training_step(self, batch, batch_idx):
        opt = self.optimizers()
        sched = self.lr_schedulers()
        if batch_idx == 0 and self.current_epoch == 0:
            T.note("optimizers_type", type(opt).__name__)
            T.note("schedulers_type", type(sched).__name__)
        loss = self.loss(batch)
        opt.zero_grad()
        self.manual_backward(loss)
        opt.step()
        sched.step()
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=self.lr)
        return [opt], [torch.optim.lr_scheduler.StepLR(opt, 2, 0.5)]


def main() -> None:
    model = recorded(ManualNet)()
    trainer = bare_trainer(
        max_epochs=2, limit_train_batches=3, limit_val_batches=1, callbacks=[RecordingCallback()]
    )
    T.fit(trainer, model, loader(), loader(32, seed=1))
    T.note("lrs", lrs(trainer))
    T.final(model)
