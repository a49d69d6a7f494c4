"""The per-batch path does not wait for the device: no host sync unless a value is written.

A host sync is any read of a tensor's value on the host. On CPU nothing waits, so the tests count
the Python-level entry points of such reads (``Tensor.item``, ``.cpu()``, ``.tolist()``,
``.numpy()``, ``float()``, ``int()``, ``bool()``, ``operator.index``) while ``fit`` runs, and
attribute each call to the training batch that was running. On a GPU every one of them would
block the host until the device catches up.

Also here: with one process ``sync_dist=True`` never communicates, and epoch values are reduced
across processes once per epoch.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plcore.metrics
import plkit as pl
from pllog import Logger

_READS = ("item", "cpu", "tolist", "numpy", "__float__", "__int__", "__bool__", "__index__")
SETUP = "before the first batch"
EPOCH_END = "train epoch end"
EVAL_END = "evaluation epoch end"


class RecordingLogger(Logger):
    """Records every ``log_metrics`` call as ``(metrics, step)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, float], int | None]] = []

    @property
    def name(self) -> str:
        return "recording"

    @property
    def version(self) -> int:
        return 0

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.calls.append((dict(metrics), step))

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass


class HostReadCounter:
    """Counts host reads of tensors per phase; ``phase`` is set by the model and a callback."""

    def __init__(self) -> None:
        self.phase: Any = SETUP
        self.counts: collections.Counter[tuple[Any, str]] = collections.Counter()

    def per_phase(self) -> collections.Counter[Any]:
        total: collections.Counter[Any] = collections.Counter()
        for (phase, _), n in self.counts.items():
            total[phase] += n
        return total

    @contextmanager
    def active(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[HostReadCounter]:
        with monkeypatch.context() as patch:
            # On the CPU epoch means are folded with numpy in Lightning's order (reads of CPU
            # tensors, which never wait); the path an accelerator takes makes no read at all.
            patch.setattr(plcore.metrics, "IN_ORDER_ON_CPU", False)
            for name in _READS:
                patch.setattr(torch.Tensor, name, self._counting(name, getattr(torch.Tensor, name)))
            yield self

    def _counting(self, name: str, original: Any) -> Any:
        def counted(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            self.counts[(self.phase, name)] += 1
            return original(tensor, *args, **kwargs)

        return counted


class PhaseCallback(pl.Callback):
    """Marks the start of the epoch ends, so their writes are not charged to the last batch."""

    def __init__(self, counter: HostReadCounter) -> None:
        self.counter = counter

    def on_train_epoch_end(self, trainer, pl_module):
        self.counter.phase = EPOCH_END

    def on_validation_epoch_end(self, trainer, pl_module):
        self.counter.phase = EVAL_END


class Regressor(pl.LightningModule):
    """A linear regression that logs its loss every step (and, optionally, more)."""

    def __init__(self, counter: HostReadCounter, **log_options: Any) -> None:
        super().__init__()
        self.layer = nn.Linear(4, 1)
        self.counter = counter
        self.log_options = log_options

    def training_step(self, batch, batch_idx):
        self.counter.phase = batch_idx
        x, y = batch
        loss = nn.functional.mse_loss(self.layer(x), y)
        self.log("loss", loss, **self.log_options)
        return loss

    def validation_step(self, batch, batch_idx):
        self.counter.phase = f"validation batch {batch_idx}"
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self.layer(x), y), **self.log_options)

    def configure_optimizers(self):
        # plain SGD: torch's own step makes no host reads (Adam would, for its step counter)
        return torch.optim.SGD(self.parameters(), lr=0.01)


def data(batches: int, batch_size: int = 2) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    n = batches * batch_size
    dataset = TensorDataset(
        torch.randn(n, 4, generator=generator), torch.randn(n, 1, generator=generator)
    )
    return DataLoader(dataset, batch_size=batch_size)


def make_trainer(tmp_path, counter: HostReadCounter, **overrides: Any) -> pl.Trainer:
    flags: dict[str, Any] = dict(
        default_root_dir=tmp_path,
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        num_sanity_val_steps=0,
        callbacks=[PhaseCallback(counter)],
    )
    flags.update(overrides)
    return pl.Trainer(**flags)


def test_the_counter_sees_a_host_read_in_the_step(tmp_path, monkeypatch):
    """The instrument itself: a training_step that calls .item() is charged to its batch."""

    class Syncing(Regressor):
        def training_step(self, batch, batch_idx):
            loss = super().training_step(batch, batch_idx)
            self.log("as_float", loss.item())
            return loss

    counter = HostReadCounter()
    trainer = make_trainer(tmp_path, counter)
    with counter.active(monkeypatch):
        trainer.fit(Syncing(counter), data(5))
    assert [counter.counts[(b, "item")] for b in range(5)] == [1] * 5
    assert "counted" not in torch.Tensor.item.__qualname__


# --- the acceptance test -----------------------------------------------------------------------
def test_host_reads_only_on_logging_steps(tmp_path, monkeypatch):
    """50 steps logging "loss" every step, a logger writing every 10 steps, no progress bar."""
    counter = HostReadCounter()
    logger = RecordingLogger()
    trainer = make_trainer(tmp_path, counter, logger=logger, log_every_n_steps=10)
    model = Regressor(counter)
    with counter.active(monkeypatch):
        trainer.fit(model, data(50))

    logging_steps = [9, 19, 29, 39, 49]
    assert [step for _, step in logger.calls] == logging_steps
    per_phase = counter.per_phase()
    reads_on_other_steps = {b: per_phase[b] for b in range(50) if b not in logging_steps}
    assert reads_on_other_steps == dict.fromkeys(reads_on_other_steps, 0)
    # at most one read per value written ("loss" and the "epoch" that goes along)
    keys_per_write = [len(metrics) for metrics, _ in logger.calls]
    for step, keys in zip(logging_steps, keys_per_write):
        assert per_phase[step] <= keys, f"step {step}: {per_phase[step]} reads for {keys} values"
    epoch_end_writes = 0  # "loss" is a step value: nothing is written at the epoch end
    assert per_phase[EPOCH_END] <= epoch_end_writes
    assert sum(per_phase[b] for b in range(50)) <= sum(keys_per_write) + epoch_end_writes


def test_no_host_reads_without_logger_and_progress_bar(tmp_path, monkeypatch):
    counter = HostReadCounter()
    trainer = make_trainer(tmp_path, counter)
    model = Regressor(counter, on_step=True, on_epoch=True)
    with counter.active(monkeypatch):
        trainer.fit(model, data(20))
    assert {phase: n for phase, n in counter.per_phase().items() if isinstance(phase, int)} == {}
    assert counter.counts[(EPOCH_END, "item")] == 0


def test_epoch_aggregation_reads_once_per_written_value(tmp_path, monkeypatch):
    counter = HostReadCounter()
    logger = RecordingLogger()
    trainer = make_trainer(tmp_path, counter, logger=logger, log_every_n_steps=100)
    model = Regressor(counter, on_step=False, on_epoch=True, reduce_fx="mean")
    with counter.active(monkeypatch):
        trainer.fit(model, data(20))
    assert {phase: n for phase, n in counter.per_phase().items() if isinstance(phase, int)} == {}
    assert [list(metrics) for metrics, _ in logger.calls] == [["loss", "epoch"]]
    assert counter.per_phase()[EPOCH_END] <= 2


def test_validation_batches_make_no_host_reads(tmp_path, monkeypatch):
    counter = HostReadCounter()
    trainer = make_trainer(tmp_path, counter, logger=RecordingLogger())
    model = Regressor(counter, on_step=True, on_epoch=True)
    with counter.active(monkeypatch):
        results = trainer.validate(model, dataloaders=data(10), verbose=False)
    assert set(results[0]) == {"val_loss_epoch"}
    per_phase = counter.per_phase()
    assert {p: per_phase[p] for p in per_phase if str(p).startswith("validation batch")} == {}
    assert per_phase[EVAL_END] > 0  # the results are Python floats: read once the pass is over


# --- communication -------------------------------------------------------------------------------
class CommunicationCounter:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def patch(self, monkeypatch: pytest.MonkeyPatch, trainer: pl.Trainer) -> None:
        for name in ("all_reduce", "reduce", "all_gather", "broadcast", "barrier"):
            if hasattr(dist, name):
                monkeypatch.setattr(dist, name, self._record(f"dist.{name}", getattr(dist, name)))
        strategy = trainer.strategy
        monkeypatch.setattr(strategy, "reduce", self._record("strategy.reduce", strategy.reduce))

    def _record(self, label: str, fn: Any) -> Any:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(label)
            return fn(*args, **kwargs)

        return recorded


class SyncDistModel(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.layer(x), y)
        self.log("loss", loss, on_step=True, on_epoch=True, sync_dist=True)
        self.log("count", 1.0, on_step=False, on_epoch=True, sync_dist=True, reduce_fx="sum")
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val_count", 1.0, sync_dist=True, reduce_fx="sum")

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def test_sync_dist_with_one_process_does_not_communicate(tmp_path, monkeypatch):
    counter = HostReadCounter()
    trainer = make_trainer(tmp_path, counter, logger=RecordingLogger(), log_every_n_steps=1)
    comms = CommunicationCounter()
    comms.patch(monkeypatch, trainer)
    trainer.fit(SyncDistModel(), data(6), data(3))
    assert comms.calls == []
    # the values are this process's own: a "sum" over 6 batches is 6, not 6 * world_size
    assert float(trainer.callback_metrics["count"]) == 6.0
    assert float(trainer.callback_metrics["val_count"]) == 3.0


class RecordingSync:
    """A stand-in cross-process reduction (one process, so it returns its input)."""

    def __init__(self) -> None:
        self.ops: list[str] = []

    def __call__(self, tensor: torch.Tensor, op: str) -> torch.Tensor:
        self.ops.append(op)
        return tensor


def test_epoch_values_are_reduced_once_per_epoch(tmp_path):
    trainer = make_trainer(tmp_path, HostReadCounter(), max_epochs=2)
    sync = RecordingSync()
    # the stores take their reduction from the strategy when world_size > 1; hand one in here
    trainer._runstate.metrics.train.sync = sync
    trainer._runstate.metrics.eval.sync = sync
    trainer.fit(SyncDistModel(), data(3))  # no validation data: training values only
    # per epoch: "loss" step values (3 reads, op mean), "loss" epoch mean (sum + count) and
    # "count" (sum); over 2 epochs
    epoch_ops = [op for op in sync.ops if op != "mean"]
    assert epoch_ops == ["sum", "sum", "sum"] * 2
