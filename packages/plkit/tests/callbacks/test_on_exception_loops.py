"""The ``loops`` counters of an OnExceptionCheckpoint written when a batch fails (Lightning's:
the failed batch is ready, started once its optimization began, neither processed nor
completed), and the resume from it still equals the uninterrupted run."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

import plkit as pl
from plkit.callbacks import OnExceptionCheckpoint


class Model(pl.LightningModule):
    def __init__(self, fail_in: str | None = None, manual: bool = False) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.fail_in = fail_in
        self.automatic_optimization = not manual

    def _maybe_fail(self, where: str, batch_idx: int) -> None:
        if self.fail_in == where and self.current_epoch == 1 and batch_idx == 2:
            raise RuntimeError("boom")

    def on_train_batch_start(self, batch, batch_idx):
        self._maybe_fail("on_train_batch_start", batch_idx)

    def training_step(self, batch, batch_idx):
        self._maybe_fail("training_step", batch_idx)
        loss = self.layer(batch).sum()
        if self.automatic_optimization:
            return loss
        opt = self.optimizers()
        opt.zero_grad()
        self.manual_backward(loss)
        opt.step()
        return None

    def validation_step(self, batch, batch_idx):
        pass

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def loader() -> DataLoader:
    torch.manual_seed(0)
    return DataLoader(torch.randn(10, 2), batch_size=2)


def trainer(tmp_path, **kw) -> pl.Trainer:
    return pl.Trainer(
        default_root_dir=tmp_path,
        max_epochs=3,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kw,
    )


def fail(tmp_path, model: Model, **kw) -> dict:
    run = trainer(
        tmp_path,
        callbacks=[OnExceptionCheckpoint(dirpath=tmp_path)],
        limit_val_batches=1,
        num_sanity_val_steps=0,
        **kw,
    )
    with pytest.raises(RuntimeError, match="boom"):
        run.fit(model, loader(), loader())
    return torch.load(tmp_path / "on_exception.ckpt", weights_only=False)["loops"]["fit_loop"]


def counts(progress: dict) -> tuple[dict, dict]:
    return progress["total"], progress["current"]


@pytest.mark.parametrize(
    ("where", "started", "accumulate", "step_ready"),
    [
        ("training_step", 1, 1, (8, 3)),  # the failed batch's optimizer step had begun
        ("on_train_batch_start", 0, 1, (7, 2)),
        ("training_step", 1, 2, (4, 1)),  # batch 2 of epoch 1 accumulates: no step began
    ],
)
def test_the_failed_batch_counts_as_ready_and_started(
    tmp_path, where, started, accumulate, step_ready
):
    loops = fail(tmp_path, Model(where), accumulate_grad_batches=accumulate)
    total, current = counts(loops["epoch_loop.batch_progress"])
    # 5 batches in epoch 0, then batches 0 and 1 of epoch 1 done, batch 2 failed
    assert total == {"ready": 8, "completed": 7, "started": 7 + started, "processed": 7}
    assert current == {"ready": 3, "completed": 2, "started": 2 + started, "processed": 2}
    stepped = 7 if accumulate == 1 else 3 + 1  # epoch 0: 3 windows (the last one short)
    assert loops["epoch_loop.state_dict"]["_batches_that_stepped"] == stepped
    step = loops["epoch_loop.automatic_optimization.optim_progress"]["optimizer"]["step"]
    assert (step["total"]["ready"], step["current"]["ready"]) == step_ready
    val = loops["epoch_loop.val_loop.batch_progress"]  # epoch 0's validation: 1 batch
    assert counts(val) == ({k: 0 for k in total}, {k: 1 for k in total})
    assert val["is_last_batch"] is True
    epochs = loops["epoch_progress"]["current"]
    assert epochs == {"ready": 2, "completed": 1, "started": 2, "processed": 1}


def test_manual_optimization_steps_count_the_whole_fit(tmp_path):
    loops = fail(tmp_path, Model("training_step", manual=True))
    steps = loops["epoch_loop.manual_optimization.optim_step_progress"]
    assert counts(steps) == ({"ready": 7, "completed": 7}, {"ready": 7, "completed": 7})


def test_resume_from_the_failed_batch_equals_the_uninterrupted_run(tmp_path):
    failing = Model("training_step")
    first = {k: v.clone() for k, v in failing.state_dict().items()}
    fail(tmp_path, failing)
    resumed = Model()
    trainer(tmp_path).fit(resumed, loader(), ckpt_path=str(tmp_path / "on_exception.ckpt"))
    reference = Model()
    reference.load_state_dict(first)
    trainer(tmp_path / "ref").fit(reference, loader())
    assert resumed.trainer.global_step == reference.trainer.global_step == 15
    for a, b in zip(resumed.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b)
