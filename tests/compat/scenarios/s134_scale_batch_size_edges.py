"""scale_batch_size's edges: a dataset smaller than the batch size (the search stops), a
missing batch_arg_name (Lightning's error), a non-OOM error (propagates), a bad method,
several test loaders (refused)."""

import uuid

from harness import T, imp
from models import DataModule, Net, bare_trainer, loader

uuid.uuid4 = lambda: uuid.UUID(int=134)


class Broken(Net):
    def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        raise RuntimeError("something else went wrong")


def _try(key, fn):  # type: ignore[no-untyped-def]
    try:
        T.note(key, fn())
    except Exception as err:  # noqa: BLE001 - the class is what the scenario compares
        T.note(key, {"raised": type(err).__name__})


def main() -> None:
    tuner = imp("tuner")
    small = DataModule(batch_size=4, n=40)
    trainer = bare_trainer(max_epochs=1)
    T.note("small", tuner.Tuner(trainer).scale_batch_size(Net(), datamodule=small))
    T.note("small_bs", small.batch_size)
    _try(
        "missing", lambda: tuner.Tuner(bare_trainer()).scale_batch_size(Net(), batch_arg_name="bs")
    )
    _try(
        "other_error",
        lambda: tuner.Tuner(bare_trainer()).scale_batch_size(Broken(), datamodule=DataModule()),
    )
    _try(
        "several",
        lambda: tuner.Tuner(bare_trainer()).scale_batch_size(
            Net(), dataloaders=[loader(), loader()], method="test"
        ),
    )
    _try("method", lambda: tuner.Tuner(bare_trainer()).scale_batch_size(Net(), method="tune"))
    _try("lr_method", lambda: tuner.Tuner(bare_trainer()).lr_find(Net(), method="test"))
