"""End to end, on a tiny model: BasePredictionWriter, LambdaCallback, OnExceptionCheckpoint,
GradientAccumulationScheduler, DeviceStatsMonitor and RichModelSummary inside real Trainer runs."""

from __future__ import annotations

import os
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plcore.utilities.exceptions import MisconfigurationException
from plkit.callbacks import (
    BasePredictionWriter,
    DeviceStatsMonitor,
    GradientAccumulationScheduler,
    LambdaCallback,
    ModelCheckpoint,
    OnExceptionCheckpoint,
)
from plkit.loggers import CSVLogger


def _data(n: int = 16, seed: int = 0) -> TensorDataset:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=gen)
    return TensorDataset(x, x.sum(1, keepdim=True))


def _loader(n: int = 16, batch_size: int = 4, **kwargs: Any) -> DataLoader:
    return DataLoader(_data(n), batch_size=batch_size, **kwargs)


class Tiny(pl.LightningModule):
    def __init__(self, fail_at: tuple[int, int] | None = None) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layer = torch.nn.Linear(3, 1)
        self.fail_at = fail_at

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        if self.fail_at == (self.current_epoch, batch_idx):
            raise RuntimeError("boom")
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        return self(batch[0])

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.05)


def _trainer(tmp_path: Any, **kwargs: Any) -> pl.Trainer:
    options: dict[str, Any] = {
        "default_root_dir": str(tmp_path),
        "max_epochs": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "accelerator": "cpu",
    }
    options.update(kwargs)
    if any(isinstance(cb, OnExceptionCheckpoint) for cb in options.get("callbacks", [])):
        options["enable_checkpointing"] = True  # it is a Checkpoint callback
    return pl.Trainer(**options)


# --- BasePredictionWriter -------------------------------------------------------------------------
class Writer(BasePredictionWriter):
    def __init__(self, folder: str, interval: str) -> None:
        super().__init__(interval)  # type: ignore[arg-type]
        self.folder = folder
        self.batches: list[tuple[list[int], int, int]] = []

    def write_on_batch_end(
        self, trainer, pl_module, prediction, batch_indices, batch, batch_idx, dataloader_idx
    ):  # noqa: E501
        self.batches.append((list(batch_indices), batch_idx, dataloader_idx))
        torch.save(prediction, os.path.join(self.folder, f"{dataloader_idx}-{batch_idx}.pt"))

    def write_on_epoch_end(self, trainer, pl_module, predictions, batch_indices):
        torch.save((predictions, batch_indices), os.path.join(self.folder, "all.pt"))


def test_prediction_writer_gets_the_shuffled_indices_and_writes_files(tmp_path) -> None:
    gen = torch.Generator().manual_seed(1)
    loader = DataLoader(_data(10), batch_size=4, shuffle=True, generator=gen)
    expected = [list(b) for b in DataLoader(range(10), batch_size=4, shuffle=True,
                                            generator=torch.Generator().manual_seed(1))]  # fmt: skip
    writer = Writer(str(tmp_path), "batch_and_epoch")
    model = Tiny()
    out = _trainer(tmp_path, callbacks=[writer]).predict(model, loader, return_predictions=False)
    assert out is None
    assert [b[0] for b in writer.batches] == [[int(i) for i in e] for e in expected]
    assert sorted(os.listdir(tmp_path)) == ["0-0.pt", "0-1.pt", "0-2.pt", "all.pt"]
    predictions, indices = torch.load(tmp_path / "all.pt", weights_only=False)
    assert indices == [[b[0] for b in writer.batches]]  # per dataloader, then per batch
    x = _data(10).tensors[0]
    for pred, idx in zip(predictions, indices[0]):  # each prediction belongs to its indices
        torch.testing.assert_close(pred, model(x[idx]).detach())


def test_prediction_writer_epoch_keeps_predictions_only_for_itself(tmp_path) -> None:
    trainer = _trainer(tmp_path, callbacks=[Writer(str(tmp_path), "epoch")])
    assert trainer.predict(Tiny(), _loader(), return_predictions=False) is None
    assert trainer.predict_loop.predictions == []  # not kept after the run
    assert len(torch.load(tmp_path / "all.pt", weights_only=False)[0]) == 4
    with pytest.raises(MisconfigurationException, match="write_interval"):
        Writer(str(tmp_path), "step")


def test_prediction_writer_with_a_plain_iterable_warns_and_gets_no_indices(tmp_path) -> None:
    writer = Writer(str(tmp_path), "batch")
    batches = [(torch.randn(2, 3),) for _ in range(2)]
    with pytest.warns(UserWarning, match="Couldn't infer the batch indices"):
        _trainer(tmp_path, callbacks=[writer]).predict(Tiny(), batches)
    assert [b[0] for b in writer.batches] == [[], []]


# --- LambdaCallback -------------------------------------------------------------------------------
def test_lambda_callback_calls_the_functions_in_hook_order(tmp_path) -> None:
    seen: list[tuple[str, Any]] = []
    cb = LambdaCallback(
        setup=lambda trainer, module, stage: seen.append(("setup", stage)),
        on_train_epoch_start=lambda trainer, module: seen.append(("epoch", trainer.current_epoch)),
        on_train_batch_end=lambda trainer, module, out, batch, i: seen.append(("batch", i)),
        on_exception=lambda trainer, module, exc: seen.append(("exception", str(exc))),
        teardown=lambda trainer, module, stage: seen.append(("teardown", stage)),
    )
    _trainer(tmp_path, limit_train_batches=2, callbacks=[cb]).fit(Tiny(), _loader())
    assert seen == [("setup", "fit"), ("epoch", 0), ("batch", 0), ("batch", 1), ("teardown", "fit")]
    assert "on_fit_start" not in vars(cb)  # hooks not given stay the base's no-op
    seen.clear()
    with pytest.raises(RuntimeError):
        _trainer(tmp_path, callbacks=[cb]).fit(Tiny(fail_at=(0, 1)), _loader())
    assert seen[-1] == ("exception", "boom")


# --- OnExceptionCheckpoint ------------------------------------------------------------------------
def test_on_exception_checkpoint_saves_resumes_exactly_and_cleans_up(tmp_path) -> None:
    folder = str(tmp_path / "ckpts")
    cb = OnExceptionCheckpoint(folder)
    trainer = _trainer(tmp_path, max_epochs=2, callbacks=[cb])
    assert trainer.checkpoint_callbacks == [cb]  # it replaces the default ModelCheckpoint
    assert not any(isinstance(c, ModelCheckpoint) for c in trainer.callbacks)
    with pytest.raises(RuntimeError, match="boom"):
        trainer.fit(Tiny(fail_at=(1, 2)), _loader())
    saved = torch.load(cb.ckpt_path, weights_only=False)
    assert (saved["epoch"], saved["global_step"]) == (1, 6)
    # the next fit of the same script resumes from it (ckpt_path=None) and then removes it
    resumed = Tiny()
    with pytest.warns(UserWarning, match="The last model of the previous `fit` call"):
        _trainer(tmp_path, max_epochs=2, callbacks=[OnExceptionCheckpoint(folder)]).fit(
            resumed, _loader()
        )
    assert not os.path.exists(cb.ckpt_path)
    whole = Tiny()
    _trainer(tmp_path, max_epochs=2).fit(whole, _loader())
    for a, b in zip(resumed.parameters(), whole.parameters()):
        assert torch.equal(a, b)


def test_on_exception_checkpoint_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="filename cannot be empty"):
        OnExceptionCheckpoint(str(tmp_path), filename="")
    with pytest.raises(MisconfigurationException, match="enable_checkpointing=False"):
        pl.Trainer(enable_checkpointing=False, callbacks=[OnExceptionCheckpoint(str(tmp_path))])
    assert OnExceptionCheckpoint("d", "f").ckpt_path == os.path.join("d", "f.ckpt")


# --- GradientAccumulationScheduler ----------------------------------------------------------------
def _accumulating_by_hand(schedule: dict[int, int], epochs: int) -> Tiny:
    """What the schedule must do: plain torch, the loss divided by the factor, stepping at each
    window's end and at the epoch's last batch."""
    model = Tiny()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    batches = list(_loader(24))
    for epoch in range(epochs):
        factor = schedule[max(k for k in schedule if k <= epoch)]
        for i, (x, y) in enumerate(batches):
            if i % factor == 0:
                opt.zero_grad()
            (torch.nn.functional.mse_loss(model(x), y) / factor).backward()
            if (i + 1) % factor == 0 or i == len(batches) - 1:
                opt.step()
    return model


def test_gradient_accumulation_scheduler_changes_the_factor_per_epoch(tmp_path) -> None:
    factors: list[int] = []
    watch = LambdaCallback(
        on_train_epoch_end=lambda t, m: factors.append(t.accumulate_grad_batches)
    )
    sched = GradientAccumulationScheduler({1: 2, 2: 4})
    model = Tiny()
    trainer = _trainer(tmp_path, max_epochs=3, callbacks=[sched, watch])
    trainer.fit(model, _loader(24))
    assert factors == [1, 2, 4] and sched.scheduling == {0: 1, 1: 2, 2: 4}
    assert trainer.global_step == 6 + 3 + 2  # 6 batches: 6, then 3, then ceil(6 / 4)
    expected = _accumulating_by_hand({0: 1, 1: 2, 2: 4}, 3)
    for a, b in zip(model.parameters(), expected.parameters()):
        torch.testing.assert_close(a, b)


def test_gradient_accumulation_scheduler_resumes_inside_an_epoch_exactly(tmp_path) -> None:
    folder = str(tmp_path / "c")
    with pytest.raises(RuntimeError):
        _trainer(
            tmp_path, max_epochs=2, callbacks=[GradientAccumulationScheduler({1: 4}),
                                               OnExceptionCheckpoint(folder)],
        ).fit(Tiny(fail_at=(1, 2)), _loader(24))  # fmt: skip
    resumed = Tiny()
    _trainer(tmp_path, max_epochs=2, callbacks=[GradientAccumulationScheduler({1: 4})]).fit(
        resumed, _loader(24), ckpt_path=os.path.join(folder, "on_exception.ckpt")
    )
    expected = _accumulating_by_hand({0: 1, 1: 4}, 2)
    for a, b in zip(resumed.parameters(), expected.parameters()):
        torch.testing.assert_close(a, b)


class Manual(Tiny):
    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False

    def training_step(self, batch: Any, batch_idx: int) -> None:
        opt = self.optimizers()
        opt.zero_grad()
        self.manual_backward(super().training_step(batch, batch_idx))
        opt.step()


def test_gradient_accumulation_scheduler_errors(tmp_path) -> None:
    with pytest.raises(TypeError):
        GradientAccumulationScheduler({})
    with pytest.raises(MisconfigurationException, match="Epoch should be an int"):
        GradientAccumulationScheduler({-1: 2})
    with pytest.raises(MisconfigurationException, match="Accumulation factor"):
        GradientAccumulationScheduler({0: 0})
    with pytest.raises(ValueError, match="remove the callback"):
        _trainer(tmp_path, accumulate_grad_batches=2,
                 callbacks=[GradientAccumulationScheduler({0: 2})]).fit(Tiny(), _loader())  # fmt: skip
    with pytest.raises(RuntimeError, match="manual optimization"):
        _trainer(tmp_path, callbacks=[GradientAccumulationScheduler({0: 2})]).fit(
            Manual(), _loader()
        )
    with pytest.raises(ValueError, match="int >= 1"):
        _trainer(tmp_path).accumulate_grad_batches = 0


# --- DeviceStatsMonitor ---------------------------------------------------------------------------
def test_device_stats_monitor_logs_cpu_stats_at_logging_steps(tmp_path) -> None:
    pytest.importorskip("psutil")
    logger = CSVLogger(str(tmp_path))
    calls: list[tuple[int, list[str]]] = []
    original = logger.log_metrics

    def record(metrics: dict[str, float], step: int | None = None) -> None:
        calls.append((step, sorted(metrics)))  # type: ignore[arg-type]
        original(metrics, step)

    logger.log_metrics = record  # type: ignore[method-assign]
    trainer = _trainer(
        tmp_path, logger=logger, log_every_n_steps=2, limit_train_batches=4, limit_val_batches=0,
        callbacks=[DeviceStatsMonitor()],
    )  # fmt: skip
    trainer.fit(Tiny(), _loader())
    stats = [(s, k) for s, k in calls if k and k[0].startswith("DeviceStatsMonitor")]
    prefix = "DeviceStatsMonitor.on_train_batch_start/"
    assert [s for s, _ in stats] == [1, 1, 3, 3]  # batches 1 and 3: the logging steps
    assert stats[0][1] == [
        prefix + n for n in ("cpu_percent", "cpu_swap_percent", "cpu_vm_percent")
    ]
    assert stats[1][1][0].startswith("DeviceStatsMonitor.on_train_batch_end/")


def test_device_stats_monitor_needs_a_logger(tmp_path) -> None:
    with pytest.raises(MisconfigurationException, match="logger=False"):
        _trainer(tmp_path, callbacks=[DeviceStatsMonitor()]).fit(Tiny(), _loader())
    _trainer(tmp_path, callbacks=[DeviceStatsMonitor()]).validate(Tiny(), _loader(), verbose=False)


def test_device_stats_monitor_without_psutil_names_the_extra(tmp_path, monkeypatch) -> None:
    from plkit.callbacks import device_stats_monitor

    monkeypatch.setattr(device_stats_monitor, "_psutil_available", lambda: False)
    trainer = _trainer(tmp_path, logger=CSVLogger(str(tmp_path)), callbacks=[DeviceStatsMonitor()])
    with pytest.raises(ModuleNotFoundError, match=r"plkit\[stats\]"):
        trainer.fit(Tiny(), _loader())


# --- RichModelSummary -----------------------------------------------------------------------------
def test_rich_model_summary_prints_the_table(tmp_path, capsys, monkeypatch) -> None:
    pytest.importorskip("rich")
    import rich

    monkeypatch.setattr(rich, "_console", None)  # a fresh global console on captured stdout
    monkeypatch.setenv("COLUMNS", "100")
    from plkit.callbacks import RichModelSummary

    _trainer(tmp_path, limit_train_batches=1, callbacks=[RichModelSummary()]).fit(Tiny(), _loader())
    out = capsys.readouterr().out
    assert "┃   ┃ Name  ┃ Type   ┃ Params ┃ Mode  ┃ FLOPs ┃" in out
    assert "│ 0 │ layer │ Linear │      4 │ train │     0 │" in out
    assert "Trainable params: 4" in out and "Total FLOPs: 0" in out


def test_rich_model_summary_without_rich_names_the_extra(monkeypatch) -> None:
    import importlib.util

    from plkit.callbacks import RichModelSummary, rich_model_summary

    real = importlib.util.find_spec
    monkeypatch.setattr(
        rich_model_summary.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "rich" else real(name, *a),
    )
    with pytest.raises(ModuleNotFoundError, match=r"plkit\[rich\]"):
        RichModelSummary()


# --- where Lightning keeps them -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("plkit.callbacks", ("BasePredictionWriter", "Checkpoint", "DeviceStatsMonitor",
                             "GradientAccumulationScheduler", "LambdaCallback",
                             "OnExceptionCheckpoint", "RichModelSummary", "RichProgressBar")),
        ("plkit.callbacks.prediction_writer", ("BasePredictionWriter",)),
        ("plkit.callbacks.lambda_function", ("LambdaCallback",)),
        ("plkit.callbacks.on_exception_checkpoint", ("OnExceptionCheckpoint",)),
        ("plkit.callbacks.gradient_accumulation_scheduler", ("GradientAccumulationScheduler",)),
        ("plkit.callbacks.device_stats_monitor", ("DeviceStatsMonitor",)),
        ("plkit.callbacks.rich_model_summary", ("RichModelSummary",)),
        ("plkit.callbacks.progress", ("ProgressBar", "RichProgressBar", "TQDMProgressBar")),
        ("plkit.callbacks.progress.rich_progress", ("RichProgressBar", "RichProgressBarTheme")),
    ],
)  # fmt: skip
def test_lightnings_module_paths(module: str, names: tuple[str, ...]) -> None:
    import importlib

    mod = importlib.import_module(module)
    assert [n for n in names if not hasattr(mod, n)] == []


def test_import_plkit_loads_neither_rich_nor_psutil() -> None:
    import subprocess
    import sys

    code = (
        "import sys, plkit, plkit.callbacks; print(sorted({'rich', 'psutil'} & set(sys.modules)))"
    )
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "[]"
