"""StochasticWeightAveraging on a BatchNorm model: SWALR swap, the extra BatchNorm epoch."""

from typing import Any

import torch
from harness import T, pl
from models import bare_trainer, loader


class BNNet(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.l1 = torch.nn.Linear(8, 6)
        self.bn = torch.nn.BatchNorm1d(6)
        self.l2 = torch.nn.Linear(6, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.l2(torch.relu(self.bn(self.l1(x))))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def configure_optimizers(self) -> Any:
        opt = torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)
        return [opt], [torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)]


class Seen(pl.Callback):
    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        T.hook(
            "seen",
            "epoch_start",
            epoch=trainer.current_epoch,
            step=trainer.global_step,
            lrs=[g["lr"] for g in trainer.optimizers[0].param_groups],
            scheduler=type(trainer.lr_scheduler_configs[0].scheduler).__name__,
            max_epochs=trainer.max_epochs,
            batches=trainer.num_training_batches,
            accumulate=trainer.accumulate_grad_batches,
        )

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        T.hook(
            "seen",
            "batch_end",
            batch_idx=batch_idx,
            step=trainer.global_step,
            loss=float(outputs["loss"]),
        )

    def on_before_backward(self, trainer: Any, pl_module: Any, loss: Any) -> None:
        T.hook("seen", "before_backward", step=trainer.global_step)

    def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        T.hook("seen", "before_optimizer_step", step=trainer.global_step)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        T.hook("seen", "train_end", epoch=trainer.current_epoch, step=trainer.global_step)


def main() -> None:
    torch.manual_seed(0)
    model = BNNet()
    swa = pl.callbacks.StochasticWeightAveraging(
        swa_lrs=0.02, swa_epoch_start=2, annealing_epochs=2
    )
    trainer = bare_trainer(max_epochs=4, callbacks=[swa, Seen()])
    T.fit(trainer, model, loader(48, 16))
    T.note("max_epochs_after", trainer.max_epochs)
    T.note("momentum", model.bn.momentum)
    state = swa.state_dict()
    T.note("state", {k: v for k, v in state.items() if k != "average_model_state"})
    T.note("average_model_state", state["average_model_state"])
    T.final(model)
