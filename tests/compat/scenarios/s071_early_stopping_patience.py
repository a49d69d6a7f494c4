"""EarlyStopping(patience=2, min_delta, verbose=True): when it stops, its messages, and
should_stop / current_epoch / stopped_epoch / wait_count / best_score after."""

import torch
from harness import RecordingCallback, T, pl
from models import DataModule, Net, quiet_trainer


class Plateau(Net):
    """Validation losses 1.0, 0.5, 0.45, 0.44, 0.6, ... per epoch."""

    values = [1.0, 0.5, 0.45, 0.44, 0.6, 0.3, 0.2, 0.1]

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", torch.tensor(self.values[self.current_epoch]))


def main() -> None:
    model = Plateau()
    es = pl.callbacks.EarlyStopping(monitor="val_loss", patience=2, min_delta=0.1, verbose=True)
    trainer = quiet_trainer(
        max_epochs=8,
        callbacks=[es, RecordingCallback()],
        limit_train_batches=2,
        limit_val_batches=1,
    )
    T.fit(trainer, model, datamodule=DataModule())
    T.note("stopped_epoch", es.stopped_epoch)
    T.note("wait_count", es.wait_count)
    T.note("best_score", es.best_score)
    T.note("patience", es.patience)
    T.note("min_delta", es.min_delta)
    T.note("state_key", es.state_key)
    T.note("state_dict", es.state_dict())
    T.final(model)
