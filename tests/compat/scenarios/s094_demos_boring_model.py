"""demos.boring_classes: BoringModel and BoringDataModule trained by fit, tested, predicted;
RandomDataset, RandomDictDataset and ManualOptimBoringModel; cli_lightning_logo exists.

Everything random is drawn before the first fit, so the numbers do not depend on how much of
the global generator validation consumes (a documented difference of its own).
"""

import torch
from harness import T, imp, pl
from models import bare_trainer


def main() -> None:
    boring = imp("demos.boring_classes")
    torch.manual_seed(7)  # seed_everything's console line is s116's business
    data = boring.RandomDataset(32, 4)
    T.note("random_dataset", [len(data), data[0]])
    T.note("random_dict", boring.RandomDictDataset(4, 2)[1])
    model = boring.BoringModel()
    manual = boring.ManualOptimBoringModel()
    dm = boring.BoringDataModule()
    trainer = bare_trainer(
        max_epochs=2,
        limit_train_batches=3,
        limit_val_batches=2,
        limit_test_batches=2,
        limit_predict_batches=2,
    )
    T.fit(trainer, model, datamodule=dm)
    T.test(trainer, model, datamodule=dm)
    T.predict(trainer, model, datamodule=dm)
    T.note("lr", trainer.optimizers[0].param_groups[0]["lr"])
    trainer = bare_trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=0)
    T.fit(trainer, manual, train_dataloaders=dm.train_dataloader())
    T.note("manual_weights", manual.layer.weight.sum())
    T.note("logo", callable(pl.cli_lightning_logo))
    T.final(model)
