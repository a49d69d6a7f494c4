"""One phase of a run whose checkpoints and logs live on S3 (tests/integration/test_remote_storage.py).

    python remote_fit.py part   ROOT OUT   # 2 epochs, checkpoints and logs under ROOT (s3://...)
    python remote_fit.py resume ROOT OUT   # ckpt_path="last" on ROOT up to 3 epochs, then
                                           # load_from_checkpoint from ROOT; weights to OUT
    python remote_fit.py full   ROOT OUT   # 3 epochs uninterrupted in the local folder ROOT

The S3 endpoint and credentials come from the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
... and S3_ENDPOINT for tensorboard's own S3 layer), as a user's job would have them.
"""

from __future__ import annotations

import sys

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl


class Net(pl.LightningModule):
    def __init__(self, lr: float = 0.05) -> None:
        super().__init__()
        self.save_hyperparameters()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.2), nn.ReLU(), nn.Linear(16, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)
        return [opt], [torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)]


def main(phase: str, root: str, out: str) -> None:
    g = torch.Generator().manual_seed(123)
    x = torch.randn(32, 4, generator=g)
    ds = TensorDataset(x, x.sum(1, keepdim=True))
    trainer = pl.Trainer(
        default_root_dir=root,
        max_epochs=2 if phase == "part" else 3,
        log_every_n_steps=2,
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=[
            pl.loggers.CSVLogger(root, version=0),
            pl.loggers.TensorBoardLogger(root, version=0),
        ],
        callbacks=[
            pl.callbacks.ModelCheckpoint(
                dirpath=f"{root}/ck", monitor="val_loss", save_top_k=2, save_last=True
            )
        ],
    )
    model = Net()
    ckpt_path = "last" if phase == "resume" else None
    trainer.fit(
        model,
        DataLoader(ds, batch_size=4, shuffle=True),
        DataLoader(ds, batch_size=8),
        ckpt_path=ckpt_path,
    )
    weights = {"fit": model.state_dict(), "ckpt_path": trainer.ckpt_path}
    if phase == "resume":
        loaded = Net.load_from_checkpoint(trainer.checkpoint_callback.last_model_path)
        weights["loaded"] = loaded.state_dict()
        weights["best"] = trainer.checkpoint_callback.best_model_path
    torch.save(weights, out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
