"""OnExceptionCheckpoint after training_step / on_train_batch_start fails mid-epoch (automatic,
accumulating and manual optimization): the training and validation counters in the
checkpoint's ``loops``."""

from typing import Any

import torch
from harness import T, pl
from torch.utils.data import DataLoader

KEYS = (
    "epoch_loop.state_dict",
    "epoch_loop.batch_progress",
    "epoch_loop.automatic_optimization.optim_progress",
    "epoch_loop.manual_optimization.optim_step_progress",
    "epoch_loop.val_loop.batch_progress",
    "epoch_progress",
)


class Failing(pl.LightningModule):
    def __init__(self, where: str, manual: bool) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.where = where
        self.automatic_optimization = not manual

    def _maybe_fail(self, where: str, batch_idx: int) -> None:
        if self.where == where and self.current_epoch == 1 and batch_idx == 2:
            raise RuntimeError("boom")

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self._maybe_fail("on_train_batch_start", batch_idx)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        self._maybe_fail("training_step", batch_idx)
        loss = self.layer(batch).sum()
        if self.automatic_optimization:
            return loss
        opt = self.optimizers()
        opt.zero_grad()
        self.manual_backward(loss)
        opt.step()
        return None

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        pass

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.1)


CASES = {
    "step": ("training_step", False, 1),
    "batch_start": ("on_train_batch_start", False, 1),
    "accumulating": ("training_step", False, 2),
    "manual": ("training_step", True, 1),
}


def main() -> None:
    for name, (where, manual, accumulate) in CASES.items():
        torch.manual_seed(0)
        data = DataLoader(torch.randn(10, 2), batch_size=2)
        trainer = pl.Trainer(
            max_epochs=3,
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            accumulate_grad_batches=accumulate,
            limit_val_batches=1,
            callbacks=[pl.callbacks.OnExceptionCheckpoint(dirpath=name)],
        )
        try:
            trainer.fit(Failing(where, manual), data, data)
        except RuntimeError as err:
            T.note(f"{name}_error", str(err))
        ckpt = torch.load(f"{name}/on_exception.ckpt", weights_only=False)
        fit_loop = ckpt["loops"]["fit_loop"]
        T.note(f"{name}_counters", {key: fit_loop[key] for key in KEYS})
        T.note(f"{name}_epoch_step", [ckpt["epoch"], ckpt["global_step"]])
