"""BackboneFinetuning(verbose=True): frozen backbone, the added group, lrs, log lines, state,
and a fit resumed after the unfreezing (plkit trains the backbone on; Lightning leaves it frozen)."""

from typing import Any

import torch
from harness import T, pl
from models import bare_trainer, loader


class Transfer(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = torch.nn.Sequential(
            torch.nn.Linear(8, 6), torch.nn.BatchNorm1d(6), torch.nn.ReLU()
        )
        self.head = torch.nn.Linear(6, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def configure_optimizers(self) -> Any:
        return torch.optim.Adam(filter(lambda p: p.requires_grad, self.parameters()), lr=0.01)


class Groups(pl.Callback):
    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        groups = trainer.optimizers[0].param_groups
        T.hook(
            "groups",
            "epoch_start",
            epoch=trainer.current_epoch,
            groups=[[len(g["params"]), g["lr"]] for g in groups],
            requires_grad=[p.requires_grad for p in pl_module.backbone.parameters()],
        )


class NoBackbone(Transfer):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = None  # not a module


def main() -> None:
    torch.manual_seed(0)
    model = Transfer()
    fine = pl.callbacks.BackboneFinetuning(
        unfreeze_backbone_at_epoch=1, lambda_func=lambda epoch: 3.0, verbose=True, rounding=4
    )
    last = pl.callbacks.ModelCheckpoint(dirpath="ckpts", save_top_k=-1, filename="{epoch}")
    trainer = bare_trainer(
        max_epochs=4, enable_checkpointing=True, callbacks=[Groups(), fine, last]
    )
    T.fit(trainer, model, loader(48, 16))
    T.note("state", fine.state_dict())
    T.final(model)
    torch.manual_seed(0)
    again = Transfer()
    fine = pl.callbacks.BackboneFinetuning(
        unfreeze_backbone_at_epoch=1, lambda_func=lambda epoch: 3.0
    )
    resumed = bare_trainer(max_epochs=4, callbacks=[fine])
    T.fit(resumed, again, loader(48, 16), ckpt_path="ckpts/epoch=1.ckpt")
    T.note("resumed_requires_grad", [p.requires_grad for p in again.backbone.parameters()])
    T.note("resumed_weights", again.state_dict())
    other = pl.callbacks.BackboneFinetuning()
    other.freeze_before_training = lambda pl_module: None
    T.fit(bare_trainer(max_epochs=1, callbacks=[other]), NoBackbone(), loader(48, 16))
