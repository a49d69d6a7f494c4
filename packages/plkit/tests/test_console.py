"""What the Trainer prints and warns about: Lightning's lines, streams and warning categories."""

from __future__ import annotations

import logging

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plcore.utilities.warnings import PossibleUserWarning
from plkit import _console


class Tiny(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _data(n: int = 8) -> DataLoader:
    return DataLoader(TensorDataset(torch.randn(n, 2)), batch_size=2)


def _trainer(tmp_path, **kwargs) -> pl.Trainer:
    options = {
        "default_root_dir": str(tmp_path),
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "enable_checkpointing": False,
        "logger": False,
    }
    options.update(kwargs)
    return pl.Trainer(**options)


def test_construction_and_stop_lines(tmp_path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="plkit"):
        trainer = _trainer(tmp_path, max_epochs=2, limit_train_batches=1, limit_val_batches=1.0)
        trainer.fit(Tiny(), _data())
    lines = [r.getMessage() for r in caplog.records]
    gpu = torch.cuda.is_available()
    assert lines[:4] == [
        f"GPU available: {gpu}{' (cuda)' if gpu else ''}, used: False",
        "TPU available: False, using: 0 TPU cores",
        "`Trainer(limit_train_batches=1)` was configured so 1 batch per epoch will be used.",
        "`Trainer(limit_val_batches=1.0)` was configured so 100% of the batches will be used..",
    ]
    assert lines[-1] == "`Trainer.fit` stopped: `max_epochs=2` reached."


def test_max_steps_stop_line(tmp_path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="plkit"):
        _trainer(tmp_path, max_steps=3).fit(Tiny(), _data())
    assert caplog.records[-1].getMessage() == "`Trainer.fit` stopped: `max_steps=3` reached."


def test_results_table(capsys, monkeypatch) -> None:
    monkeypatch.setattr(_console, "rich_installed", lambda: False)  # the plain table
    _console.print_results(
        [{"loss/dataloader_idx_0": torch.tensor(0.5)}, {"loss/dataloader_idx_1": 0.25, "acc": 1}],
        "test",
    )
    lines = capsys.readouterr().out.splitlines()
    rule = lines[0]
    assert set(rule) == {"─"} and lines[2] == rule == lines[-1]
    assert lines[1] == f"{'Test metric':^25}{'DataLoader 0':^25}{'DataLoader 1':^25}".rstrip()
    assert lines[3] == f"{'acc':^25}{' ':^25}{'1':^25}".rstrip()
    assert lines[4] == f"{'loss':^25}{'0.5':^25}{'0.25':^25}".rstrip()


def test_no_metrics_no_table(capsys) -> None:
    _console.print_results([{}], "validate")
    assert capsys.readouterr().out == ""


def test_possible_user_warnings(tmp_path) -> None:
    class WithVal(Tiny):
        def validation_step(self, batch, batch_idx):
            pass

    model = WithVal()
    model.layer.eval()
    trainer = _trainer(tmp_path, max_epochs=1, log_every_n_steps=10, logger=True)
    with pytest.warns(PossibleUserWarning) as caught:
        trainer.fit(model, _data())
    texts = [str(w.message) for w in caught if w.category is PossibleUserWarning]
    assert (
        "You defined a `validation_step` but have no `val_dataloader`. Skipping val loop." in texts
    )
    assert any(
        t.startswith("Found 1 module(s) in eval mode at the start of training.") for t in texts
    )
    assert any(
        t.startswith("The number of training batches (4) is smaller than the logging")
        for t in texts
    )


def test_training_step_returning_none_warns(tmp_path) -> None:
    class Skip(Tiny):
        def training_step(self, batch, batch_idx):
            return None

    with pytest.warns(UserWarning, match="`training_step` returned `None`"):
        _trainer(tmp_path, max_epochs=1).fit(Skip(), _data())


def test_keyboard_interrupt_exits_with_status_1(tmp_path, caplog) -> None:
    seen = []

    class Watch(pl.Callback):
        def on_exception(self, trainer, pl_module, exception):
            seen.append(type(exception).__name__)

    class Interrupted(Tiny):
        def training_step(self, batch, batch_idx):
            raise KeyboardInterrupt

    trainer = _trainer(tmp_path, max_epochs=1, callbacks=[Watch()])
    import signal

    previous = signal.getsignal(signal.SIGINT)
    try:
        with caplog.at_level(logging.INFO, logger="plkit"), pytest.raises(SystemExit) as exit_info:
            trainer.fit(Interrupted(), _data())
    finally:
        signal.signal(signal.SIGINT, previous)
    assert exit_info.value.code == 1 and seen == ["KeyboardInterrupt"] and trainer.interrupted
    assert "\nDetected KeyboardInterrupt, attempting graceful shutdown ..." in caplog.messages


def test_cuda_lines(monkeypatch, caplog) -> None:
    from types import SimpleNamespace

    class CUDAAccelerator:  # what the lines look at: the accelerator's kind
        pass

    trainer = SimpleNamespace(
        strategy=SimpleNamespace(
            accelerator=CUDAAccelerator(), root_device=torch.device("cuda", 0)
        ),
        local_rank=0,
    )
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index: (9, 0))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: "NVIDIA H200")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(_console, "_TF32_NOTED", set())
    with caplog.at_level(logging.INFO, logger="plkit"):
        _console.cuda_device_notes(trainer)
        _console.cuda_device_notes(trainer)  # once per device
        _console.cuda_rank_line(trainer)
    assert len(caplog.messages) == 2
    assert caplog.messages[0].startswith("You are using a CUDA device ('NVIDIA H200') that has")
    assert caplog.messages[1] == "LOCAL_RANK: 0 - CUDA_VISIBLE_DEVICES: [0,1]"


def test_module_print_goes_through_the_drawing_bar(tmp_path, capsys) -> None:
    printed = []

    class Bar(pl.callbacks.TQDMProgressBar):
        def print(self, *args, **kwargs):
            printed.append(args)

    class Printing(Tiny):
        def training_step(self, batch, batch_idx):
            self.print("step", batch_idx)
            return super().training_step(batch, batch_idx)

    trainer = _trainer(tmp_path, max_epochs=1, enable_progress_bar=True, callbacks=[Bar()])
    trainer.fit(Printing(), _data(4))
    assert printed == [("step", 0), ("step", 1)]
    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=1)
    trainer.fit(Printing(), _data(4))  # no bar: a plain print
    assert capsys.readouterr().out.endswith("step 0\n")
