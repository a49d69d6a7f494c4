"""Overridden optimizer_step, optimizer_zero_grad and backward: their arguments and order."""

from harness import T, recorded
from models import Net, bare_trainer, loader


class CustomNet(Net):
    def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None):
        T.data["notes"].setdefault("step_types", []).append(type(optimizer).__name__)
        optimizer.step(closure=optimizer_closure)

    def optimizer_zero_grad(self, epoch, batch_idx, optimizer):
        optimizer.zero_grad(set_to_none=True)

    def backward(self, loss, *args, **kwargs):
        (loss * 2).backward(*args, **kwargs)


def main() -> None:
    model = recorded(CustomNet)()
    trainer = bare_trainer(max_epochs=1, limit_train_batches=3, limit_val_batches=1)
    T.fit(trainer, model, loader(), loader(32, seed=1))
    T.final(model)
