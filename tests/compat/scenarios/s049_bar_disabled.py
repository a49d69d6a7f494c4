"""``enable_progress_bar=False``: no bar at all, ``trainer.progress_bar_callback`` is None, and
the console keeps only the Trainer's own lines (fit, then test with its table)."""

from harness import T
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net()
    trainer = quiet_trainer(enable_progress_bar=False, limit_train_batches=2, limit_val_batches=1)
    T.note("progress_bar_callback", trainer.progress_bar_callback)
    T.note("callbacks", [type(c).__name__ for c in trainer.callbacks])
    T.fit(trainer, model, datamodule=DataModule())
    T.test(trainer, model, datamodule=DataModule())
    T.final(model)
