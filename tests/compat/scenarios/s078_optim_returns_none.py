"""configure_optimizers returns None: what Lightning warns, and the weights stay as they were."""

from harness import T, recorded
from models import Net, bare_trainer, loader


class NoOptNet(Net):
    def configure_optimizers(self):
        return None


def main() -> None:
    model = recorded(NoOptNet)()
    trainer = bare_trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=1)
    T.fit(trainer, model, loader(), loader(32, seed=1))
    T.note("optimizers", trainer.optimizers)
    T.note("schedulers", len(trainer.lr_scheduler_configs))
    T.final(model)
