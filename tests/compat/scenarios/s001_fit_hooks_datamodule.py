"""fit with a datamodule: every module, callback and datamodule hook, in order."""

from harness import RecordingCallback, T, recorded
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = recorded(Net)()
    dm = recorded(DataModule, label="dm")()
    trainer = quiet_trainer(
        callbacks=[RecordingCallback()], limit_train_batches=2, limit_val_batches=2
    )
    T.fit(trainer, model, datamodule=dm)
    T.final(model)
