"""StochasticWeightAveraging resumed from a mid-averaging checkpoint: callback state, weights."""

from typing import Any

import torch
from harness import T, pl
from models import bare_trainer, loader


class BNNet(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.l1 = torch.nn.Linear(8, 6)
        self.bn = torch.nn.BatchNorm1d(6)
        self.l2 = torch.nn.Linear(6, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.l2(torch.relu(self.bn(self.l1(x))))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def configure_optimizers(self) -> Any:
        opt = torch.optim.SGD(self.parameters(), lr=0.05)
        return [opt], [torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)]


def _fit(ckpt_path: Any = None) -> Any:
    torch.manual_seed(0)
    model = BNNet()
    swa = pl.callbacks.StochasticWeightAveraging(
        swa_lrs=0.02, swa_epoch_start=2, annealing_epochs=3
    )
    every = pl.callbacks.ModelCheckpoint(dirpath="ckpts", save_top_k=-1, filename="{epoch}")
    trainer = bare_trainer(max_epochs=4, enable_checkpointing=True, callbacks=[swa, every])
    T.fit(trainer, model, loader(48, 16), ckpt_path=ckpt_path)
    return model, trainer


def main() -> None:
    full, _ = _fit()
    T.note("uninterrupted", full.state_dict())
    resumed, trainer = _fit("ckpts/epoch=2.ckpt")
    T.note("resumed_counters", [trainer.current_epoch, trainer.global_step, trainer.max_epochs])
    T.note("schedulers", [type(c.scheduler).__name__ for c in trainer.lr_scheduler_configs])
    T.final(resumed)
