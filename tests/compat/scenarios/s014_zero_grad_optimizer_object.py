"""Which optimizer object on_before_zero_grad / optimizer_zero_grad / on_before_optimizer_step receive."""

from typing import Any

from harness import T, pl
from models import Net, loader, quiet_trainer


def describe(trainer: Any, optimizer: Any) -> dict[str, Any]:
    return {
        "type": type(optimizer).__name__,
        "is_trainer_optimizer": optimizer is trainer.optimizers[0],
        "is_module_optimizers": optimizer is trainer.lightning_module.optimizers(),
    }


class Probe(pl.Callback):
    def on_before_zero_grad(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        T.hook("cb", "on_before_zero_grad", **describe(trainer, optimizer))

    def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        T.hook("cb", "on_before_optimizer_step", **describe(trainer, optimizer))


class ZeroGradNet(Net):
    def on_before_zero_grad(self, optimizer: Any) -> None:
        T.hook("model", "on_before_zero_grad", **describe(self.trainer, optimizer))

    def optimizer_zero_grad(self, epoch: int, batch_idx: int, optimizer: Any) -> None:
        T.hook("model", "optimizer_zero_grad", **describe(self.trainer, optimizer))
        optimizer.zero_grad()

    def optimizer_step(
        self, epoch: int, batch_idx: int, optimizer: Any, closure: Any = None
    ) -> None:
        T.hook("model", "optimizer_step", **describe(self.trainer, optimizer))
        optimizer.step(closure=closure)


def main() -> None:
    model = ZeroGradNet()
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=2, callbacks=[Probe()])
    T.fit(trainer, model, loader(64))
    T.final(model)
