"""Ctrl+C (``KeyboardInterrupt``) raised inside ``training_step`` during fit: the hooks that run
(``on_exception``), what is printed, the trainer state and how the script ends."""

from harness import RecordingCallback, T, expect_exit
from models import DataModule, Net, quiet_trainer


class Interrupted(Net):
    def training_step(self, batch, batch_idx):
        if self.global_step == 3:
            raise KeyboardInterrupt
        return super().training_step(batch, batch_idx)

    def on_exception(self, exception):  # is it called on the module?
        T.note("module_on_exception", type(exception).__name__)


class WatchedData(DataModule):
    def on_exception(self, exception):  # is it called on the datamodule?
        T.note("datamodule_on_exception", type(exception).__name__)


def main() -> None:
    model = Interrupted()
    trainer = quiet_trainer(callbacks=[RecordingCallback()], limit_val_batches=1)
    with expect_exit():
        T.fit(trainer, model, datamodule=WatchedData())
    T.note("interrupted", trainer.interrupted)
    T.final(model)
