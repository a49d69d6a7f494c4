"""A 1.x `training_epoch_end` on the module: what fit raises, and which hooks ran first."""

from typing import Any

from harness import RecordingCallback, T, recorded
from models import Net, loader, quiet_trainer


class Old(Net):
    def training_epoch_end(self, outputs: Any) -> None:
        T.hook("model", "training_epoch_end")


def main() -> None:
    model = recorded(Old)()
    trainer = quiet_trainer(callbacks=[RecordingCallback()], max_epochs=1)
    T.fit(trainer, model, loader(64), loader(32, seed=1))
