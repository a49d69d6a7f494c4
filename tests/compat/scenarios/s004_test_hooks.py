"""test with a datamodule, then with a loader passed directly: hooks, results, state."""

from harness import RecordingCallback, T, recorded
from models import DataModule, Net, loader, quiet_trainer


def main() -> None:
    model = recorded(Net)()
    dm = recorded(DataModule, label="dm")()
    trainer = quiet_trainer(callbacks=[RecordingCallback()], limit_test_batches=2)
    T.test(trainer, model, datamodule=dm)
    T.test(trainer, model, dataloaders=loader(32, seed=1))
    T.final(model)
