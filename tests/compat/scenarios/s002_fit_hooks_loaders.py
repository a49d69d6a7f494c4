"""fit with train and val loaders passed directly (no datamodule): every hook, in order."""

from harness import RecordingCallback, T, recorded
from models import Net, loader, quiet_trainer


def main() -> None:
    model = recorded(Net)()
    trainer = quiet_trainer(
        callbacks=[RecordingCallback()], limit_train_batches=2, limit_val_batches=2
    )
    T.fit(trainer, model, loader(64), loader(32, seed=1))
    T.final(model)
