"""Performance guards that are not timings: no memory growth per step, no needless hook calls.

Timings live in ``benchmarks/`` (``nox -s bench``) because they depend on the machine; these
tests check the properties behind them on any machine:

- training does not accumulate memory step after step: over 900 steps the Python heap traced by
  ``tracemalloc`` and the number of live gc-tracked objects stay flat (a loop that kept one
  detached loss per step would add ~90 KB and 900 objects);
- hooks nobody overrides are not called: every Callback and LightningModule hook of the hook
  table is replaced on the base class by a counter, so any call the loops make to a default
  hook is counted; only the hooks whose defaults do real work may run, once per run.

Host syncs per step are counted in ``test_no_host_sync.py``.
"""

from __future__ import annotations

import collections
import gc
import tracemalloc
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plcore import Callback, LightningModule
from plcore.hooks import CALLBACK, HOOKS, MODULE
from pllog import Logger

FIRST, LAST = 100, 1000  # memory is compared between the ends of these training batches
HEAP_GROWTH_LIMIT = 64 * 1024  # bytes over the 900 steps: under ~70 bytes per step
OBJECT_GROWTH_LIMIT = 32  # live gc-tracked objects over the 900 steps (one-off caches only)


class DiscardingLogger(Logger):
    """A logger that receives every write and keeps nothing."""

    @property
    def name(self) -> str:
        return "discarding"

    @property
    def version(self) -> int:
        return 0

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        pass

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass


class Regressor(pl.LightningModule):
    """A tiny linear model; optionally logs every step, or (to test the test) leaks."""

    def __init__(self, log: bool = False, leak: bool = False) -> None:
        super().__init__()
        self.layer = nn.Linear(4, 1)
        self.log_every_step = log
        self.leak = leak
        self.kept: list[torch.Tensor] = []

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.layer(x), y)
        if self.log_every_step:
            self.log("loss", loss, on_step=True, on_epoch=True, prog_bar=True)
        if self.leak:
            self.kept.append(loss.detach())
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self.layer(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def data(batches: int) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    n = 2 * batches
    dataset = TensorDataset(
        torch.randn(n, 4, generator=generator), torch.randn(n, 1, generator=generator)
    )
    return DataLoader(dataset, batch_size=2)


BARE = dict(
    logger=False,
    enable_checkpointing=False,
    enable_progress_bar=False,
    enable_model_summary=False,
    accelerator="cpu",
)


# --- (i) no per-step memory growth ----------------------------------------------------------------
class MemoryProbe(pl.Callback):
    """Records (traced heap bytes, live gc objects) at the end of training batches FIRST and LAST.

    Tracing starts at batch START, after set-up and the lazy imports of the first steps, which
    are slow to trace and not what is measured.
    """

    START = 50

    def __init__(self) -> None:
        self.samples: dict[int, tuple[int, int]] = {}
        self.started_tracing = False

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = batch_idx + 1
        if step == self.START and not tracemalloc.is_tracing():
            tracemalloc.start()
            self.started_tracing = True
        if step in (FIRST, LAST):
            del outputs, batch  # this step's own references are not growth
            gc.collect()
            heap = tracemalloc.get_traced_memory()[0]
            self.samples[step] = (heap, len(gc.get_objects()))

    def stop(self) -> None:
        if self.started_tracing:
            tracemalloc.stop()
            self.started_tracing = False

    def growth(self) -> tuple[int, int]:
        (heap0, objects0), (heap1, objects1) = self.samples[FIRST], self.samples[LAST]
        return heap1 - heap0, objects1 - objects0


def fit_and_probe(tmp_path, model: Regressor, **flags: Any) -> tuple[int, int]:
    probe = MemoryProbe()
    options = {**BARE, "max_epochs": 1, "default_root_dir": tmp_path, "callbacks": [probe]}
    options.update(flags)
    trainer = pl.Trainer(**options)
    validation = data(2) if "val_check_interval" in flags else None
    try:
        trainer.fit(model, data(LAST), validation)
    finally:
        probe.stop()
    assert trainer.global_step == LAST
    return probe.growth()


@pytest.mark.parametrize(
    ("log", "flags"),
    [
        pytest.param(False, {}, id="bare"),
        pytest.param(
            True, {"logger": DiscardingLogger(), "log_every_n_steps": 10}, id="self.log+logger"
        ),
        pytest.param(
            True,
            {"num_sanity_val_steps": 0, "val_check_interval": 100, "limit_val_batches": 2},
            id="validation-every-100-steps",
        ),
    ],
)
def test_no_memory_growth_per_step(tmp_path, log, flags):
    heap, objects = fit_and_probe(tmp_path, Regressor(log=log), **flags)
    assert heap < HEAP_GROWTH_LIMIT, f"the heap grew {heap} bytes over {LAST - FIRST} steps"
    assert objects <= OBJECT_GROWTH_LIMIT, f"{objects} more live objects after {LAST - FIRST} steps"


def test_the_probe_sees_a_leak(tmp_path):
    """The instrument itself: keeping one detached loss per step is caught by both measures."""
    heap, objects = fit_and_probe(tmp_path, Regressor(leak=True))
    assert heap >= HEAP_GROWTH_LIMIT
    assert objects >= LAST - FIRST


# --- (ii) hooks nobody overrides are not called ---------------------------------------------------
# Module hooks whose defaults do real work, with how often a run may call them: configure_callbacks
# returns callbacks to merge, prepare_data / setup / teardown are once-per-run entry points, and
# around each validation run on_validation_model_zero_grad frees the gradients' memory while
# on_validation_model_eval / _train switch dropout and batch norm mode. None runs per batch.
ONCE_PER_RUN = ("configure_callbacks", "prepare_data", "setup", "teardown")
PER_VALIDATION_RUN = (
    "on_validation_model_zero_grad",
    "on_validation_model_eval",
    "on_validation_model_train",
)


class HookCounter:
    """Replaces each base-class hook of the hook table by a counting wrapper of the default."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        for spec in HOOKS:
            if MODULE in spec.owners:
                self._wrap(monkeypatch, LightningModule, spec.name)
            if CALLBACK in spec.owners:
                self._wrap(monkeypatch, Callback, spec.name)

    def _wrap(self, monkeypatch: pytest.MonkeyPatch, base: type, name: str) -> None:
        original = getattr(base, name)
        label = f"{base.__name__}.{name}"

        def counted(obj: Any, *args: Any, **kwargs: Any) -> Any:
            self.counts[label] += 1
            return original(obj, *args, **kwargs)

        monkeypatch.setattr(base, name, counted)


def test_default_module_hooks_are_not_called_in_a_bare_fit(tmp_path, monkeypatch):
    counter = HookCounter(monkeypatch)
    trainer = pl.Trainer(**BARE, max_epochs=2, default_root_dir=tmp_path)
    trainer.fit(Regressor(), data(20))
    assert trainer.callbacks == [] and trainer.global_step == 40
    assert counter.counts["LightningModule.setup"] == 1  # the counters are live
    allowed = {f"LightningModule.{name}" for name in ONCE_PER_RUN}
    assert set(counter.counts) <= allowed, f"called without being overridden: {counter.counts}"
    assert max(counter.counts.values()) == 1


def test_default_module_hooks_with_validation_run_once_per_validation(tmp_path, monkeypatch):
    counter = HookCounter(monkeypatch)
    trainer = pl.Trainer(**BARE, max_epochs=2, default_root_dir=tmp_path)
    trainer.fit(Regressor(log=True), data(20), data(5))
    validation_runs = 3  # the sanity check, then one per epoch
    allowed = {f"LightningModule.{name}": 1 for name in ONCE_PER_RUN}
    allowed.update({f"LightningModule.{name}": validation_runs for name in PER_VALIDATION_RUN})
    unexpected = {name: n for name, n in counter.counts.items() if n > allowed.get(name, 0)}
    assert unexpected == {}
    assert counter.counts["LightningModule.on_validation_model_eval"] == validation_runs


class EpochEndOnly(pl.Callback):
    """Overrides a single hook."""

    def __init__(self) -> None:
        self.calls = 0

    def on_train_epoch_end(self, trainer, pl_module):
        self.calls += 1


def test_callback_hooks_a_callback_does_not_override_are_not_called(tmp_path, monkeypatch):
    counter = HookCounter(monkeypatch)
    callback = EpochEndOnly()
    trainer = pl.Trainer(**BARE, max_epochs=2, default_root_dir=tmp_path, callbacks=[callback])
    trainer.fit(Regressor(log=True), data(20), data(5))
    assert trainer.callbacks == [callback]
    assert callback.calls == 2
    callback_calls = {name: n for name, n in counter.counts.items() if name.startswith("Callback.")}
    assert callback_calls == {}
