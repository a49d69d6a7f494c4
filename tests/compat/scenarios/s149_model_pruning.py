"""ModelPruning(verbose=2): sparsity log lines, the lottery ticket, a permanently pruned checkpoint,
and a fit resumed between two prunings (plkit keeps the masks in the checkpoint; Lightning does not)."""

from typing import Any

import torch
from harness import T, pl
from models import bare_trainer, loader


class Mlp(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.l1 = torch.nn.Linear(8, 4)
        self.l2 = torch.nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.l2(torch.relu(self.l1(x)))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.1)


class Masks(pl.Callback):
    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        T.hook("masks", "epoch_start", keys=list(pl_module.state_dict()))


def main() -> None:
    torch.manual_seed(0)
    model = Mlp()
    pruning = pl.callbacks.ModelPruning(
        "l1_unstructured", amount=lambda epoch: 0.3 if epoch < 2 else 0, verbose=2
    )
    every = pl.callbacks.ModelCheckpoint(dirpath="ckpts", save_top_k=-1, filename="{epoch}")
    trainer = bare_trainer(
        max_epochs=3, enable_checkpointing=True, callbacks=[pruning, Masks(), every]
    )
    T.fit(trainer, model, loader(48, 16))
    T.note("hooks_left", sum(len(m._forward_pre_hooks) for m in model.modules()))
    T.final(model)
    torch.manual_seed(0)
    again = Mlp()
    pruning = pl.callbacks.ModelPruning(
        "l1_unstructured", amount=lambda epoch: 0.3 if epoch < 2 else 0
    )
    resumed = bare_trainer(max_epochs=3, callbacks=[pruning])
    T.fit(resumed, again, loader(48, 16), ckpt_path="ckpts/epoch=0.ckpt")
    T.note("resumed_weights", again.state_dict())
