"""Methods named almost like hooks (a datamodule's `test_dataloder`, a callback's
`on_train_epoch_ends`) are never called and fit runs; plkit adds a warning for each."""

from harness import T, pl
from models import Net, loader, quiet_trainer


class Data(pl.LightningDataModule):
    def train_dataloader(self):
        return loader()

    def test_dataloder(self):  # the seed document's typo
        return loader()


class Epochs(pl.Callback):
    def __init__(self) -> None:
        self.ends = 0

    def on_train_epoch_ends(self, trainer, pl_module):  # never called
        self.ends += 1


def main() -> None:
    model, callback = Net(), Epochs()
    trainer = quiet_trainer(max_epochs=2, callbacks=[callback])
    T.fit(trainer, model, datamodule=Data())
    T.note("misspelt_calls", callback.ends)
    T.final(model)
