"""predict with a datamodule, then with a loader passed directly: hooks, predictions, state."""

from harness import RecordingCallback, T, recorded
from models import DataModule, Net, loader, quiet_trainer


def main() -> None:
    model = recorded(Net)()
    dm = recorded(DataModule, label="dm")()
    trainer = quiet_trainer(callbacks=[RecordingCallback()], limit_predict_batches=2)
    T.predict(trainer, model, datamodule=dm)
    T.predict(trainer, model, loader(32, seed=1))
    T.predict(trainer, model, loader(32, seed=1), return_predictions=False)
    T.final(model)
