"""trainer.save_checkpoint to a memory:// URL, validate(ckpt_path=<url>), and
load_from_checkpoint from it: the same weights and hyper-parameters come back."""

import fsspec
from harness import T
from models import DataModule, Net, bare_trainer

URL = "memory://store/model.ckpt"


class WithHparams(Net):
    def __init__(self, lr: float = 0.1, width: int = 8) -> None:
        super().__init__(lr)
        self.save_hyperparameters()


def main() -> None:
    model = WithHparams(lr=0.05)
    trainer = bare_trainer(max_epochs=2)
    T.fit(trainer, model, datamodule=DataModule())
    trainer.save_checkpoint(URL)
    T.note("stored", fsspec.filesystem("memory").ls("/store", detail=False))
    T.validate(trainer, model, datamodule=DataModule(), ckpt_path=URL, verbose=False)
    loaded = WithHparams.load_from_checkpoint(URL)
    T.note("hparams", dict(loaded.hparams))
    T.note(
        "same_weights",
        [bool((a == b).all()) for a, b in zip(model.parameters(), loaded.parameters())],
    )
    T.final(loaded)
