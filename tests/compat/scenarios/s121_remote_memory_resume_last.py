"""fit(ckpt_path="last") with checkpoints on memory://: the second run finds last.ckpt on the
store and resumes (Lightning lists it, then looks for it on the local disk and starts afresh)."""

from harness import T, pl
from models import DataModule, Net, quiet_trainer

DIRPATH = "memory://run/ck"


def main() -> None:
    def trainer(epochs: int):
        ckpt = pl.callbacks.ModelCheckpoint(dirpath=DIRPATH, save_last=True)
        return quiet_trainer(max_epochs=epochs, logger=False, callbacks=[ckpt])

    T.fit(trainer(2), Net(), datamodule=DataModule())
    model = Net()
    second = trainer(3)
    T.fit(second, model, datamodule=DataModule(), ckpt_path="last")
    T.note("ckpt_path", second.ckpt_path)
    T.final(model)
