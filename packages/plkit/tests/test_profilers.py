"""Profilers end to end: what each records in a real fit, the files and reports it writes, the
Trainer's ``profiler=`` flag and its errors, and that a run without one takes the unprofiled path.

The action names and counts are Lightning's (the compatibility scenarios s125-s129 compare them
with Lightning 2.6.6); here they are checked from the run's own shape (batches, epochs).
"""

from __future__ import annotations

import json
import logging
import pstats
import re
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plcore.utilities.exceptions import MisconfigurationException
from plkit._calls import HookCaller
from plkit.loops.optimization import Optimization
from plkit.profilers import (
    AdvancedProfiler,
    PassThroughProfiler,
    Profiler,
    PyTorchProfiler,
    SimpleProfiler,
)

STRATEGY = "[Strategy]SingleDeviceStrategy"


def loader(n: int = 24, bs: int = 4, seed: int = 0) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=bs)


class Net(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layer = nn.Linear(3, 1)

    def forward(self, x):
        return self.layer(x)

    def training_step(self, batch, batch_idx):
        loss = nn.functional.mse_loss(self(batch[0]), batch[1])
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", nn.functional.mse_loss(self(batch[0]), batch[1]))

    def test_step(self, batch, batch_idx):
        self.log("test_loss", nn.functional.mse_loss(self(batch[0]), batch[1]))

    def predict_step(self, batch, batch_idx):
        return self(batch[0])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


class DM(pl.LightningDataModule):
    def train_dataloader(self):
        return loader(24)

    def val_dataloader(self):
        return loader(8, seed=1)

    def test_dataloader(self):
        return loader(8, seed=1)

    def predict_dataloader(self):
        return loader(8, seed=1)


def trainer(tmp_path: Path, **kwargs) -> pl.Trainer:
    options = dict(
        max_epochs=2,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    options.update(kwargs)
    return pl.Trainer(**options)


def counts(profiler: SimpleProfiler) -> dict[str, int]:
    return {k: len(v) for k, v in profiler.recorded_durations.items()}


# ---------------------------------------------------------------------------------------------
# SimpleProfiler
# ---------------------------------------------------------------------------------------------
def test_simple_profiler_records_lightnings_actions_in_a_fit(tmp_path: Path) -> None:
    profiler = SimpleProfiler(dirpath=tmp_path / "reports", filename="perf")
    t = trainer(tmp_path, profiler=profiler)
    t.fit(Net(), datamodule=DM())
    seen = counts(profiler)
    batches, epochs, val_runs = 6, 2, 3  # 24 / 4 samples; the sanity check validates too
    ckpt = next(k for k in seen if k.startswith("[Callback]ModelCheckpoint{"))
    ckpt_key = ckpt[: ckpt.index("}.") + 1]
    assert seen["run_training_epoch"] == epochs
    assert seen["run_training_batch"] == batches * epochs
    assert seen["[_TrainingEpochLoop].train_dataloader_next"] == batches * epochs
    assert seen["[_EvaluationLoop].val_next"] == 2 * val_runs
    assert seen[f"{STRATEGY}.training_step"] == batches * epochs
    assert seen[f"{STRATEGY}.backward"] == batches * epochs
    assert seen[f"{STRATEGY}.validation_step"] == 2 * val_runs
    assert seen[f"{STRATEGY}.batch_to_device"] == batches * epochs + 2 * val_runs
    assert seen["[LightningModule]Net.optimizer_step"] == batches * epochs
    assert seen["[LightningModule]Net.on_validation_model_eval"] == val_runs
    assert seen["[LightningModule]Net.configure_callbacks"] == 1
    assert seen["[LightningDataModule]DM.setup"] == 1
    assert seen["[LightningDataModule]DM.train_dataloader"] == 1
    assert seen["[LightningDataModule]DM.state_dict"] == epochs
    assert seen["save_checkpoint"] == epochs
    assert seen[f"{ckpt_key}.on_train_batch_end"] == batches * epochs
    assert seen[f"{ckpt_key}.teardown"] == 1
    # the module's own backward runs inside the strategy's (Lightning does not time it apart)
    assert "[LightningModule]Net.backward" not in seen
    assert "[LightningModule]Net.prepare_data" not in seen  # not overridden: not called
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["fit-perf.txt"]


def test_each_entry_point_writes_its_own_report(tmp_path: Path) -> None:
    model, dm = Net(), DM()
    for fn, step, fetch in (
        ("validate", "validation_step", "[_EvaluationLoop].val_next"),
        ("test", "test_step", "[_EvaluationLoop].test_next"),
        ("predict", "predict_step", "[_PredictionLoop].predict_next"),
    ):
        profiler = SimpleProfiler(dirpath=tmp_path, filename="perf")
        getattr(trainer(tmp_path, profiler=profiler), fn)(model, datamodule=dm)
        seen = counts(profiler)
        assert seen[f"{STRATEGY}.{step}"] == 2
        assert seen[fetch] == 2
        assert f"[LightningDataModule]DM.{fn if fn != 'validate' else 'val'}_dataloader" in seen
        text = (tmp_path / f"{fn}-perf.txt").read_text()
        assert text.startswith(f"{fn.upper()} Profiler Report")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.split("|")[1:-1]]


def test_simple_report_layout(tmp_path: Path) -> None:
    profiler = SimpleProfiler(dirpath=tmp_path, filename="perf")
    trainer(tmp_path, profiler=profiler, max_epochs=1).fit(Net(), datamodule=DM())
    lines = (tmp_path / "fit-perf.txt").read_text().splitlines()
    assert lines[0] == "FIT Profiler Report"
    assert lines[1] == ""
    rules = [i for i, line in enumerate(lines) if line and set(line) == {"-"}]
    assert rules[:3] == [2, 4, 6] and rules[-1] == len(lines) - 1
    header = _cells(lines[3])
    assert header == ["Action", "Mean duration (s)", "Num calls", "Total time (s)", "Percentage %"]
    total = _cells(lines[5])
    rows = [_cells(line) for line in lines[7:-1]]
    assert total[0] == "Total" and total[1] == "-" and total[4] == "100 %"
    assert int(total[2]) == sum(int(r[2]) for r in rows)  # the calls of every action
    assert [float(r[4]) for r in rows] == sorted((float(r[4]) for r in rows), reverse=True)
    assert {r[0] for r in rows} == set(profiler.recorded_durations)
    width = len(lines[2])
    assert width == len(lines[3].expandtabs()) + 1  # Lightning counts the newline in the rule


def test_simple_report_not_extended(tmp_path: Path) -> None:
    profiler = SimpleProfiler(dirpath=tmp_path, filename="short", extended=False)
    trainer(tmp_path, profiler=profiler, max_epochs=1).fit(Net(), datamodule=DM())
    lines = (tmp_path / "fit-short.txt").read_text().splitlines()
    assert _cells(lines[3]) == ["Action", "Mean duration (s)", "Total time (s)"]
    rows = [_cells(line) for line in lines[5:-1]]
    means = [float(r[1]) for r in rows]
    assert means == sorted(means, reverse=True)
    assert all(len(r) == 3 for r in rows)


def test_report_goes_to_the_log_without_a_filename(tmp_path: Path) -> None:
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    log = logging.getLogger("plkit.profilers.profiler")
    log.addHandler(handler)
    log.setLevel(logging.INFO)  # (pytest's own handlers keep plkit's from being attached)
    try:
        t = trainer(tmp_path, profiler="simple", max_epochs=1, enable_checkpointing=False)
        t.fit(Net(), datamodule=DM())
    finally:
        log.removeHandler(handler)
        log.setLevel(logging.NOTSET)
    assert isinstance(t.profiler, SimpleProfiler)
    assert len(records) == 1 and records[0].startswith("FIT Profiler Report")
    assert "run_training_batch" in records[0]
    assert not list(tmp_path.glob("*.txt"))


def test_profiler_used_on_its_own(tmp_path: Path) -> None:
    profiler = SimpleProfiler(dirpath=tmp_path, filename="alone")
    for _ in range(3):
        with profiler.profile("load") as name:
            assert name == "load"
    profiler.describe()
    text = (tmp_path / "alone.txt").read_text()
    assert text.startswith("Profiler Report")  # no stage outside a Trainer
    load = next(line for line in text.splitlines() if line.startswith("|  load"))
    assert _cells(load)[2] == "3"
    with pytest.raises(ValueError, match="Attempted to start load which has already started"):
        profiler.start("load")
        profiler.start("load")
    with pytest.raises(ValueError, match=r"action \(nope\) which was never started"):
        profiler.stop("nope")


def test_filenames_are_made_safe() -> None:
    profiler = SimpleProfiler(filename="perf")
    profiler.setup("fit", local_rank=1)
    assert profiler._prepare_filename() == "fit-perf-1.txt"
    assert profiler._prepare_filename("a/b: c", ".prof") == "fit-perf-1-a_b_ c.prof"
    assert SimpleProfiler()._prepare_filename() == "profile.txt"


# ---------------------------------------------------------------------------------------------
# AdvancedProfiler
# ---------------------------------------------------------------------------------------------
def test_advanced_profiler_reports_cprofile_stats(tmp_path: Path) -> None:
    profiler = AdvancedProfiler(
        dirpath=tmp_path, filename="adv", line_count_restriction=3, dump_stats=True
    )
    trainer(tmp_path, profiler=profiler, max_epochs=1).fit(Net(), datamodule=DM())
    text = (tmp_path / "fit-adv.txt").read_text()
    assert text.startswith("FIT Profiler Report")
    assert f"Profile stats for: {STRATEGY}.training_step" in text
    assert "Ordered by: cumulative time" in text
    assert "function calls" in text and "ncalls" in text
    assert "due to restriction <3>" in text
    dumped = tmp_path / f"fit-adv-{STRATEGY}.training_step.prof"
    assert dumped.exists()
    assert pstats.Stats(str(dumped)).total_calls > 0  # a real cProfile dump
    assert profiler.profiled_actions == {}  # cleared by teardown after the report


def test_advanced_profiler_errors() -> None:
    with pytest.raises(ValueError, match="never started"):
        AdvancedProfiler().stop("x")
    profiler = AdvancedProfiler(dump_stats=True)
    with profiler.profile("x"):
        pass
    with pytest.raises(ValueError, match="dump_stats=True"):
        profiler.summary()


# ---------------------------------------------------------------------------------------------
# PyTorchProfiler
# ---------------------------------------------------------------------------------------------
def test_pytorch_profiler_writes_chrome_traces_with_the_hooks(tmp_path: Path) -> None:
    profiler = PyTorchProfiler(dirpath=tmp_path / "traces", filename="perf")

    class Longer(DM):  # enough steps for the default schedule (wait 1, warm up 1, record 3)
        def train_dataloader(self):
            return loader(48)

        def val_dataloader(self):
            return loader(16, seed=1)

    trainer(tmp_path, profiler=profiler, max_epochs=1).fit(Net(), datamodule=Longer())
    traces = sorted((tmp_path / "traces").glob("*.pt.trace.json"))
    names = {re.sub(r"\.\d+\.pt\.trace\.json$", "", p.name) for p in traces}
    assert names == {f"fit-perf-{STRATEGY}.training_step", f"fit-perf-{STRATEGY}.validation_step"}
    train = next(p for p in traces if "training_step" in p.name)
    events = {e.get("name") for e in json.loads(train.read_text())["traceEvents"]}
    assert f"[pl][profile]{STRATEGY}.training_step" in events
    assert f"[pl][profile]{STRATEGY}.backward" in events
    assert "[pl][profile][LightningModule]Net.optimizer_step" in events
    assert "[pl][module]torch.nn.modules.linear.Linear: layer" in events
    report = (tmp_path / "traces" / "fit-perf.txt").read_text().splitlines()
    assert report[:2] == ["FIT Profiler Report", "Profile stats for: records"]


def test_pytorch_profiler_warns_when_too_few_steps(tmp_path: Path) -> None:
    profiler = PyTorchProfiler(dirpath=tmp_path, filename="perf")
    t = trainer(tmp_path, profiler=profiler, max_epochs=1, enable_checkpointing=False)
    with pytest.warns(UserWarning, match="default schedule will be overridden"):
        t.fit(Net(), train_dataloaders=loader(8))


def test_pytorch_profiler_bad_arguments() -> None:
    with pytest.raises(MisconfigurationException, match="Found sort_by_key: fast"):
        PyTorchProfiler(sort_by_key="fast")
    with pytest.raises(KeyError, match="already a positional argument"):
        PyTorchProfiler(table_kwargs={"row_limit": 3})
    with pytest.raises(KeyError, match="Should be within"):
        PyTorchProfiler(table_kwargs={"colour": True})
    with pytest.raises(MisconfigurationException, match="Schedule should be a callable"):
        PyTorchProfiler(schedule=3)
    with pytest.raises(MisconfigurationException, match="should return a `torch.profiler"):
        PyTorchProfiler(schedule=lambda step: 3)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the error is for machines without CUDA")
def test_emit_nvtx_without_cuda_says_how_to_fix(tmp_path: Path) -> None:
    t = trainer(tmp_path, profiler=PyTorchProfiler(emit_nvtx=True), enable_checkpointing=False)
    with pytest.raises(MisconfigurationException, match="drop emit_nvtx=True"):
        t.fit(Net(), train_dataloaders=loader(8))


# ---------------------------------------------------------------------------------------------
# the Trainer's flag
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "cls"),
    [("simple", SimpleProfiler), ("Advanced", AdvancedProfiler), ("pytorch", PyTorchProfiler)],
)
def test_profiler_names(name: str, cls: type) -> None:
    assert type(pl.Trainer(profiler=name, logger=False).profiler) is cls


def test_profiler_flag_errors() -> None:
    with pytest.raises(MisconfigurationException, match=r"one of \['simple', 'advanced'"):
        pl.Trainer(profiler="fancy")
    with pytest.raises(ValueError, match="disabled in barebones mode"):
        pl.Trainer(profiler="simple", barebones=True)
    with pytest.raises(TypeError, match="plkit.profilers.Profiler instance"):
        pl.Trainer(profiler=3)
    with pytest.raises(ModuleNotFoundError, match="torch_xla"):
        pl.Trainer(profiler="xla")
    with pytest.raises(ImportError, match="torch_xla, which plkit does not support"):
        from plkit.profilers import XLAProfiler  # noqa: F401


def test_without_a_profiler_the_run_is_not_profiled(tmp_path: Path) -> None:
    t = trainer(tmp_path, max_epochs=1)
    assert type(t.profiler) is PassThroughProfiler
    t.fit(Net(), datamodule=DM())
    run = t._runstate
    assert type(run.calls) is HookCaller and run.calls.profiler is None
    assert type(run.optimization) is Optimization


class Manual(Net):
    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False

    def training_step(self, batch, batch_idx):
        opt = self.optimizers()
        opt.zero_grad()
        loss = nn.functional.mse_loss(self(batch[0]), batch[1])
        self.manual_backward(loss)
        opt.step()
        return loss


@pytest.mark.parametrize(
    ("model_cls", "flags"),
    [
        (Net, {}),
        (Net, {"accumulate_grad_batches": 2, "gradient_clip_val": 0.1}),
        (Net, {"gradient_clip_val": 0.05, "gradient_clip_algorithm": "value"}),
        (Manual, {}),
    ],
)
def test_profiling_does_not_change_the_result(tmp_path: Path, model_cls: type, flags: dict) -> None:
    """The profiled run calls the default hooks too (zero_grad, clipping, optimizer_step):
    the weights come out bit for bit the same."""
    plain, profiled = model_cls(), model_cls()
    trainer(tmp_path / "a", **flags).fit(plain, datamodule=DM())
    trainer(tmp_path / "b", profiler=SimpleProfiler(), **flags).fit(profiled, datamodule=DM())
    for a, b in zip(plain.parameters(), profiled.parameters()):
        assert torch.equal(a, b)


def test_a_custom_profiler_gets_every_action(tmp_path: Path) -> None:
    class Counting(Profiler):
        def __init__(self) -> None:
            super().__init__()
            self.open: list[str] = []
            self.done: list[str] = []

        def start(self, action_name: str) -> None:
            self.open.append(action_name)

        def stop(self, action_name: str) -> None:
            assert self.open.pop() == action_name  # properly nested
            self.done.append(action_name)

    profiler = Counting()
    trainer(tmp_path, profiler=profiler, max_epochs=1).fit(Net(), datamodule=DM())
    assert profiler.open == []
    assert profiler.done.count("run_training_batch") == 6
    assert profiler._stage == "fit"


def test_a_failed_run_closes_the_report(tmp_path: Path) -> None:
    class Broken(Net):
        def training_step(self, batch, batch_idx):
            raise RuntimeError("boom")

    profiler = SimpleProfiler(dirpath=tmp_path, filename="perf")
    with pytest.raises(RuntimeError, match="boom"):
        trainer(tmp_path, profiler=profiler).fit(Broken(), datamodule=DM())
    assert profiler._output_file is None
    assert not (tmp_path / "fit-perf.txt").exists()  # no report for a failed run


# ---------------------------------------------------------------------------------------------
# counts in the less common paths (each compared with Lightning 2.6.6 when written)
# ---------------------------------------------------------------------------------------------
class Stream(torch.utils.data.IterableDataset):
    def __iter__(self):
        for i in range(5):
            yield torch.full((3,), float(i)), torch.ones(1)


def test_a_loader_of_unknown_length_counts_one_fetch_per_batch(tmp_path: Path) -> None:
    profiler = SimpleProfiler()
    t = trainer(tmp_path, profiler=profiler, enable_checkpointing=False)
    t.fit(Net(), train_dataloaders=DataLoader(Stream(), batch_size=2))
    seen = counts(profiler)
    # 3 batches an epoch: the first fetched ahead untimed, the fetch that finds the end timed
    assert seen["run_training_batch"] == 6
    assert seen["[_TrainingEpochLoop].train_dataloader_next"] == 6


def test_limits_stop_fetching_at_the_limit(tmp_path: Path) -> None:
    profiler = SimpleProfiler()
    t = trainer(tmp_path, profiler=profiler, limit_train_batches=2, limit_val_batches=1)
    t.fit(Net(), datamodule=DM())
    seen = counts(profiler)
    assert seen["[_TrainingEpochLoop].train_dataloader_next"] == 4
    assert seen["[_EvaluationLoop].val_next"] == 3  # the sanity check and two validations


def test_resume_and_datamodule_hooks_are_recorded(tmp_path: Path) -> None:
    class Stateful(DM):
        def on_before_batch_transfer(self, batch, dataloader_idx):
            return batch

        def state_dict(self):
            return {"seen": 1}

    first = trainer(tmp_path, max_epochs=1)
    first.fit(Net(), datamodule=Stateful())
    first.save_checkpoint(tmp_path / "x.ckpt")
    profiler = SimpleProfiler()
    t = trainer(tmp_path, profiler=profiler, max_epochs=2)
    t.fit(Net(), datamodule=Stateful(), ckpt_path=tmp_path / "x.ckpt")
    seen = counts(profiler)
    assert seen["[LightningModule]Net.on_load_checkpoint"] == 1
    assert seen["[LightningDataModule]Stateful.load_state_dict"] == 1
    # the datamodule's override runs, not the module's default
    # the sanity check's 2 batches, the epoch's 6, its validation's 2
    assert seen["[LightningDataModule]Stateful.on_before_batch_transfer"] == 2 + 6 + 2
    assert "[LightningModule]Net.on_before_batch_transfer" not in seen


def test_an_exception_calls_every_callbacks_on_exception(tmp_path: Path) -> None:
    class Broken(Net):
        def training_step(self, batch, batch_idx):
            if batch_idx == 1:
                raise RuntimeError("boom")
            return super().training_step(batch, batch_idx)

    profiler = SimpleProfiler()
    with pytest.raises(RuntimeError, match="boom"):
        trainer(tmp_path, profiler=profiler).fit(Broken(), datamodule=DM())
    seen = counts(profiler)
    assert seen["[LightningDataModule]DM.on_exception"] == 1
    assert sum(k.endswith(".on_exception") and k.startswith("[Callback]") for k in seen) == 1
    assert seen["run_training_batch"] == 2  # the failed batch's action is stopped too


def test_reports_on_remote_storage(tmp_path: Path) -> None:
    """A ``dirpath`` URL (fsspec's in-memory filesystem here) gets the report and the stats."""
    from plcore.utilities import cloud_io

    simple = SimpleProfiler(dirpath="memory://prof-test/simple", filename="perf")
    trainer(tmp_path, profiler=simple, max_epochs=1).fit(Net(), datamodule=DM())
    assert cloud_io.read_text("memory://prof-test/simple/fit-perf.txt").startswith(
        "FIT Profiler Report"
    )
    advanced = AdvancedProfiler(dirpath="memory://prof-test/adv", filename="a", dump_stats=True)
    trainer(tmp_path, profiler=advanced, max_epochs=1).fit(Net(), datamodule=DM())
    names = cloud_io.listdir("memory://prof-test/adv")
    assert f"fit-a-{STRATEGY}.training_step.prof" in [n.rsplit("/", 1)[-1] for n in names]
    assert not list(tmp_path.glob("memory*"))  # nothing written to a local folder named so
