"""A plkit script run by the FSDP tests: fit on 2 CPU ranks, optionally save / resume.

Configured by environment variables: PLKIT_TEST_OUT (folder for results), PLKIT_TEST_STRATEGY
("fsdp", "ddp" or "single"), PLKIT_TEST_STATE ("full" or "sharded"), PLKIT_TEST_EPOCHS,
PLKIT_TEST_RESUME (a checkpoint to resume from), PLKIT_TEST_EMPTY_INIT ("1": build the model
under ``trainer.init_module(empty_init=True)``), PLKIT_TEST_LATE ("1": the layers are made in
``configure_model``), PLKIT_TEST_EXTRA ("1": gradient clipping, gradient accumulation, and
``trainer.validate`` after fit), PLKIT_TEST_ASYNC ("1": ``plugins=[AsyncCheckpointIO()]``).
"""

import os

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plkit.callbacks import ModelCheckpoint
from plkit.plugins import AsyncCheckpointIO
from plkit.strategies import FSDPStrategy


class Model(pl.LightningModule):
    def __init__(self, hidden: int = 8, late: bool = False):
        super().__init__()
        self.save_hyperparameters()
        torch.manual_seed(0)
        self.net = None if late else self.build()

    def build(self):
        return nn.Sequential(
            nn.Linear(4, self.hparams.hidden), nn.Tanh(), nn.Linear(self.hparams.hidden, 1)
        )

    def configure_model(self):
        if self.net is None:
            torch.manual_seed(0)
            self.net = self.build()

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss, sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self.net(x), y), sync_dist=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=0.05)


def dataset():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(64, 4, generator=g)
    return TensorDataset(x, x.sum(1, keepdim=True))


def strategy():
    name = os.environ.get("PLKIT_TEST_STRATEGY", "fsdp")
    if name == "fsdp":
        return FSDPStrategy(
            auto_wrap_policy={nn.Linear}, state_dict_type=os.environ.get("PLKIT_TEST_STATE", "full")
        )
    return "auto" if name == "single" else name


def main():
    out = os.environ["PLKIT_TEST_OUT"]
    single = os.environ.get("PLKIT_TEST_STRATEGY") == "single"
    extra = os.environ.get("PLKIT_TEST_EXTRA") == "1"  # clipping, accumulation, validate after
    trainer = pl.Trainer(
        gradient_clip_val=0.5 if extra else None,
        accumulate_grad_batches=2 if extra else 1,
        max_epochs=int(os.environ.get("PLKIT_TEST_EPOCHS", "2")),
        accelerator="cpu",
        strategy=strategy(),
        devices=1 if single else 2,
        default_root_dir=out,
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        plugins=[AsyncCheckpointIO()] if os.environ.get("PLKIT_TEST_ASYNC") == "1" else None,
        callbacks=[
            ModelCheckpoint(dirpath=os.path.join(out, "ckpts"), save_last=True, save_top_k=-1)
        ],
    )
    late = os.environ.get("PLKIT_TEST_LATE") == "1"  # layers made in configure_model
    if os.environ.get("PLKIT_TEST_EMPTY_INIT") == "1":
        with trainer.init_module(empty_init=True):
            model = Model(late=late)
        # FSDP builds on the meta device: no memory until each rank materialises its shards
        assert late or all(p.is_meta for p in model.parameters())
    else:
        model = Model(late=late)
    trainer.fit(
        model,
        DataLoader(dataset(), batch_size=8),
        DataLoader(dataset(), batch_size=8),
        ckpt_path=os.environ.get("PLKIT_TEST_RESUME") or None,
    )
    validated = trainer.validate(model, DataLoader(dataset(), batch_size=8)) if extra else None
    # full weights on every rank (full_tensor gathers a sharded parameter)
    weights = {
        k: (v.full_tensor() if hasattr(v, "full_tensor") else v).detach().clone()
        for k, v in model.state_dict().items()
    }
    if trainer.is_global_zero:
        torch.save(
            {
                "weights": weights,
                "global_step": trainer.global_step,
                "val_loss": trainer.callback_metrics["val_loss"],
                "validated": validated,
            },
            os.path.join(out, "result.pt"),
        )


if __name__ == "__main__":
    main()
