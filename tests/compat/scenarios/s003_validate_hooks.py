"""validate with a datamodule, then with a loader passed directly: hooks, results, state."""

from harness import RecordingCallback, T, recorded
from models import DataModule, Net, loader, quiet_trainer


def main() -> None:
    model = recorded(Net)()
    dm = recorded(DataModule, label="dm")()
    trainer = quiet_trainer(callbacks=[RecordingCallback()], limit_val_batches=2)
    T.validate(trainer, model, datamodule=dm)
    T.validate(trainer, model, loader(32, seed=1))
    T.final(model)
