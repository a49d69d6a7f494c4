"""Which exception class fit raises for a module that cannot train: a wrong configure_optimizers
return, no training_step, no train loader, no configure_optimizers, ReduceLROnPlateau without a
monitor, two optimizers in automatic optimization."""

import torch
from harness import T, pl
from models import Net, caught, loader


def trainer():
    return pl.Trainer(
        max_epochs=1,
        limit_train_batches=1,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )


class BadReturn(Net):
    def configure_optimizers(self):
        return "adam"


class BadDictKey(Net):
    def configure_optimizers(self):
        return {
            "lr_scheduler": torch.optim.lr_scheduler.StepLR(
                torch.optim.SGD(self.parameters(), lr=0.1), 1
            )
        }


class BadInterval(Net):
    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1)
        return {
            "optimizer": opt,
            "lr_scheduler": {
                "scheduler": torch.optim.lr_scheduler.StepLR(opt, 1),
                "interval": "month",
            },
        }


class PlateauNoMonitor(Net):
    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1)
        return [opt], [torch.optim.lr_scheduler.ReduceLROnPlateau(opt)]


class PlateauOuterMonitor(Net):
    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1)
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": plateau}, "monitor": "val_loss"}


class TwoOptimizers(Net):
    def configure_optimizers(self):
        return [
            torch.optim.SGD(self.parameters(), lr=0.1),
            torch.optim.SGD(self.parameters(), lr=0.2),
        ]


class NoTrainingStep(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(8, 1)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


class NoConfigureOptimizers(Net):
    configure_optimizers = pl.LightningModule.configure_optimizers


def main() -> None:
    for cls in (
        BadReturn,
        BadDictKey,
        BadInterval,
        PlateauNoMonitor,
        PlateauOuterMonitor,
        TwoOptimizers,
        NoTrainingStep,
        NoConfigureOptimizers,
    ):
        T.note(cls.__name__, caught(lambda c=cls: trainer().fit(c(), loader())))
    T.note("no_train_loader", caught(lambda: trainer().fit(Net())))
    T.note("validate_no_loader", caught(lambda: trainer().validate(Net())))
