"""``trainer.fit_loop`` and the settable ``trainer.accumulate_grad_batches``: what a callback
changes during fit takes effect (the limits Lightning's StochasticWeightAveraging moves)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl


class Net(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.backwards = 0
        self.batches: list[tuple[int, int, int]] = []

    def training_step(self, batch, batch_idx):
        self.batches.append((self.current_epoch, batch_idx, self.trainer.global_step))
        return self.layer(batch[0]).pow(2).mean()

    def on_before_backward(self, loss):
        self.backwards += 1

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


class OneMoreEpochWithoutBackward(pl.Callback):
    """What SWA does for its BatchNorm epoch, with Lightning's attribute names."""

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == 0:
            trainer.fit_loop.max_epochs += 1
        if trainer.current_epoch == 2:
            trainer.fit_loop.max_batches += 1
            trainer.fit_loop._skip_backward = True
            trainer.accumulate_grad_batches = trainer.fit_loop.max_batches

    def on_train_epoch_end(self, trainer, pl_module):
        trainer.fit_loop._skip_backward = False

    def on_train_end(self, trainer, pl_module):
        self.seen = (
            trainer.max_epochs,
            trainer.num_training_batches,
            trainer.fit_loop._skip_backward,
        )
        trainer.fit_loop.max_epochs -= 1
        trainer.fit_loop.max_batches -= 1
        trainer.accumulate_grad_batches = 1


def test_a_callback_moves_the_limits():
    model, cb = Net(), OneMoreEpochWithoutBackward()
    trainer = pl.Trainer(
        max_epochs=2,
        callbacks=[cb],
        logger=False,
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
    )
    trainer.fit(model, DataLoader(TensorDataset(torch.randn(8, 2)), batch_size=4))
    assert trainer.current_epoch == 3
    # epoch 2: 3 batches allowed, the loader has 2 and its end ends the epoch; one window, so one
    # optimizer step at its last batch, and no backward at all
    assert model.batches[-2:] == [(2, 0, 4), (2, 1, 4)]
    assert trainer.global_step == 5 and model.backwards == 4
    assert cb.seen == (3, 3, False)
    assert (trainer.max_epochs, trainer.num_training_batches, trainer.accumulate_grad_batches) == (
        2,
        2,
        1,
    )


def test_skip_backward_needs_a_running_fit():
    trainer = pl.Trainer(logger=False)
    assert trainer.fit_loop._skip_backward is False
    with pytest.raises(RuntimeError, match="only while fit runs"):
        trainer.fit_loop._skip_backward = True
