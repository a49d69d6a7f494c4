"""A fit that a test preempts with SIGTERM (env: PLKIT_TEST_OUT, PLKIT_TEST_STRATEGY, PLKIT_TEST_DEVICES).

It writes `started` once a few steps ran, and `final.pt` (weights, step) when fit returns.
PLKIT_TEST_VAL=1 adds a validation loop that is slow from the first epoch's end on (`started`
is then written in validation; PLKIT_TEST_VAL_FAST=1 keeps it fast); PLKIT_TEST_VALIDATE=1 runs `trainer.validate` only;
PLKIT_TEST_STUCK=1 makes training_step hang after step 5; PLKIT_TEST_HANG_RANK=N makes rank N
hang at step 3.
"""

import os
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl


class Model(pl.LightningModule):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.2), nn.ReLU(), nn.Linear(16, 1))

    def training_step(self, batch, batch_idx):
        if os.environ.get("PLKIT_TEST_SLOW"):
            time.sleep(0.02)
        if self.global_step == 5 and self.global_rank == 0 and not _val_marks():
            open(os.path.join(os.environ["PLKIT_TEST_OUT"], "started"), "w").close()
            if os.environ.get("PLKIT_TEST_STUCK"):
                time.sleep(600)  # a step that never returns
        hang_rank = os.environ.get("PLKIT_TEST_HANG_RANK")
        if hang_rank and self.global_step == 3 and self.global_rank == int(hang_rank):
            time.sleep(600)  # one rank stuck in its own code; the others wait in all-reduce
        x, y = batch
        return nn.functional.mse_loss(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        slow = os.environ.get("PLKIT_TEST_VALIDATE") or (
            os.environ.get("PLKIT_TEST_VAL")
            and not os.environ.get("PLKIT_TEST_VAL_FAST")
            and not self.trainer.sanity_checking
            and self.current_epoch >= 1
        )
        if slow:
            if batch_idx == 1 and self.global_rank == 0:
                open(os.path.join(os.environ["PLKIT_TEST_OUT"], "started"), "w").close()
            time.sleep(0.2)  # a long validation
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.02, momentum=0.9)


def _val_marks():
    return bool(os.environ.get("PLKIT_TEST_VAL") or os.environ.get("PLKIT_TEST_VALIDATE"))


def main():
    out = os.environ["PLKIT_TEST_OUT"]
    pl.seed_everything(0, verbose=False)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(256, 4, generator=g)
    loader = DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8, shuffle=True)
    trainer = pl.Trainer(
        max_epochs=6,
        accelerator="cpu",
        strategy=os.environ.get("PLKIT_TEST_STRATEGY", "auto"),
        devices=int(os.environ.get("PLKIT_TEST_DEVICES", "1")),
        default_root_dir=out,
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        enable_checkpointing=False,
    )
    model = Model()
    val_loader = DataLoader(TensorDataset(x[:80], x[:80].sum(1, keepdim=True)), batch_size=8)
    if os.environ.get("PLKIT_TEST_VALIDATE"):
        trainer.validate(model, val_loader, verbose=False)
        open(os.path.join(out, "validated"), "w").close()
        return
    trainer.fit(model, loader, val_loader if os.environ.get("PLKIT_TEST_VAL") else None)
    if trainer.is_global_zero:
        torch.save(
            {"weights": model.state_dict(), "step": trainer.global_step},
            os.path.join(out, "final.pt"),
        )


if __name__ == "__main__":
    main()
