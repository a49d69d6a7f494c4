"""The recorded hook sequence of a module and a callback equals spec/hook-order.md."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plcore.hooks import CALLBACK, HOOKS, MODULE

CALLBACK_HOOKS = [
    h.name
    for h in HOOKS
    if CALLBACK in h.owners and h.name not in ("state_dict", "load_state_dict")
]
MODULE_HOOKS = [h.name for h in HOOKS if MODULE in h.owners]


def _recording(name, prefix, record):
    def hook(self, *args, **kwargs):
        record.append(f"{prefix}.{name}")
        return getattr(super(type(self), self), name)(*args, **kwargs)

    hook.__name__ = name
    return hook


def make_recorder(record, manual=False):
    class RecordingCallback(pl.Callback):
        pass

    for name in CALLBACK_HOOKS:
        setattr(RecordingCallback, name, _recording(name, "cb", record))

    class RecordingModule(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 1)
            self.automatic_optimization = not manual

        def _loss(self, batch):
            x, y = batch
            return nn.functional.mse_loss(self.layer(x), y)

        def training_step(self, batch, batch_idx):
            record.append("model.training_step")
            loss = self._loss(batch)
            if manual:
                opt = self.optimizers()
                opt.zero_grad()
                self.manual_backward(loss)
                opt.step()
            return loss

        def validation_step(self, batch, batch_idx):
            record.append("model.validation_step")
            self.log("val_loss", self._loss(batch))

        def test_step(self, batch, batch_idx):
            record.append("model.test_step")

        def predict_step(self, batch, batch_idx, dataloader_idx=0):
            record.append("model.predict_step")
            return self.layer(batch[0])

        def configure_optimizers(self):
            record.append("model.configure_optimizers")
            return torch.optim.SGD(self.parameters(), lr=0.1)

    skip = {"training_step", "validation_step", "test_step", "predict_step", "configure_optimizers"}
    for name in MODULE_HOOKS:
        if name not in skip:
            setattr(RecordingModule, name, _recording(name, "model", record))
    return RecordingModule(), RecordingCallback()


def loader(n):
    g = torch.Generator().manual_seed(0)
    return DataLoader(
        TensorDataset(torch.randn(n, 4, generator=g), torch.randn(n, 1, generator=g)), batch_size=1
    )


def trainer(cb, **kw):
    defaults = dict(
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[cb],
        accelerator="cpu",
        devices=1,
    )
    defaults.update(kw)
    return pl.Trainer(**defaults)


def both(name):
    return [f"cb.{name}", f"model.{name}"]


TRANSFER = [
    "model.on_before_batch_transfer",
    "model.transfer_batch_to_device",
    "model.on_after_batch_transfer",
]


def evaluation(stage, batches, hook_stage=None):
    hs = hook_stage or stage
    seq = [f"model.on_{hs}_model_eval", *both(f"on_{hs}_start"), *both(f"on_{hs}_epoch_start")]
    for _ in range(batches):
        seq += [
            *TRANSFER,
            *both(f"on_{hs}_batch_start"),
            f"model.{hs}_step",
            *both(f"on_{hs}_batch_end"),
        ]
    seq += [*both(f"on_{hs}_epoch_end"), *both(f"on_{hs}_end")]
    if hs != "predict":
        seq.append(f"model.on_{hs}_model_train")
    return seq


def zero_grad():
    return [*both("on_before_zero_grad"), "model.optimizer_zero_grad"]


def backward():
    return [*both("on_before_backward"), "model.backward", *both("on_after_backward")]


def before_step():
    return [*both("on_before_optimizer_step"), "model.configure_gradient_clipping"]


def fit_prefix(stage="fit"):
    return [
        "model.configure_callbacks",
        "model.prepare_data",
        "cb.setup",
        "model.setup",
        "model.configure_model",
    ]


def fit_sequence(train_batches, val_batches, sanity, epoch_batches):
    seq = fit_prefix() + ["model.configure_optimizers", *both("on_fit_start")]
    if sanity:
        seq += [
            "cb.on_sanity_check_start",
            *evaluation("validation", sanity),
            "cb.on_sanity_check_end",
        ]
    seq += both("on_train_start")
    seq += both("on_train_epoch_start")
    for batch in epoch_batches:
        seq += [*TRANSFER, *both("on_train_batch_start"), *batch, *both("on_train_batch_end")]
    if val_batches:
        seq += ["model.on_validation_model_zero_grad", *evaluation("validation", val_batches)]
    seq += both("on_train_epoch_end")
    seq += [*both("on_train_end"), *both("on_fit_end"), *both("teardown")]
    return seq


def automatic_batch():
    return [
        "model.optimizer_step",
        "model.training_step",
        *zero_grad(),
        *backward(),
        *before_step(),
    ]


def test_fit_with_validation_and_sanity_check():
    record = []
    model, cb = make_recorder(record)
    trainer(cb, num_sanity_val_steps=1).fit(model, loader(2), loader(2))
    expected = fit_sequence(2, 2, 1, [automatic_batch(), automatic_batch()])
    assert record == expected


def test_fit_without_validation():
    record = []
    model, cb = make_recorder(record)
    trainer(cb).fit(model, loader(2))
    assert record == fit_sequence(2, 0, 0, [automatic_batch(), automatic_batch()])


def test_fit_with_accumulation_windows_and_short_last_window():
    record = []
    model, cb = make_recorder(record)
    t = trainer(cb, accumulate_grad_batches=2)
    t.fit(model, loader(3))
    first = ["model.training_step", *zero_grad(), *backward()]
    last_of_window = ["model.optimizer_step", "model.training_step", *backward(), *before_step()]
    short = automatic_batch()  # a window of one batch: zero grad and step in the same batch
    assert record == fit_sequence(3, 0, 0, [first, last_of_window, short])
    assert t.global_step == 2


def test_manual_optimization():
    record = []
    model, cb = make_recorder(record, manual=True)
    t = trainer(cb)
    t.fit(model, loader(2))
    manual = ["model.training_step", *backward(), *both("on_before_optimizer_step")]
    assert record == fit_sequence(2, 0, 0, [manual, manual])
    assert t.global_step == 2


def test_validate():
    record = []
    model, cb = make_recorder(record)
    trainer(cb).validate(model, loader(2), verbose=False)
    assert record == fit_prefix() + evaluation("validation", 2) + both("teardown")


def test_test():
    record = []
    model, cb = make_recorder(record)
    trainer(cb).test(model, loader(2), verbose=False)
    assert record == fit_prefix() + evaluation("test", 2) + both("teardown")


def test_predict():
    record = []
    model, cb = make_recorder(record)
    out = trainer(cb).predict(model, loader(2))
    assert record == fit_prefix() + evaluation("predict", 2) + both("teardown")
    assert len(out) == 2 and out[0].shape == (1, 1)


def test_exception_calls_on_exception_and_no_teardown():
    record = []
    model, cb = make_recorder(record)

    def boom(batch, batch_idx):
        raise ValueError("boom")

    model.training_step = boom
    t = trainer(cb)
    try:
        t.fit(model, loader(2))
    except ValueError as err:
        assert str(err) == "boom"
    else:
        raise AssertionError("the exception was swallowed")
    # as in Lightning: callbacks (and the datamodule) get on_exception, the module does not
    assert record[-1] == "cb.on_exception" and "model.on_exception" not in record
    assert "cb.teardown" not in record
    assert t.state.status == "interrupted"


def test_keyboard_interrupt_ends_cleanly():
    import signal

    record = []
    model, cb = make_recorder(record)

    def interrupt(batch, batch_idx):
        raise KeyboardInterrupt

    model.training_step = interrupt
    t = trainer(cb)
    previous = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit) as exit_info:  # as Lightning: sys.exit(1), not re-raised
            t.fit(model, loader(2))
    finally:
        signal.signal(signal.SIGINT, previous)  # the shutdown ignores further Ctrl+C
    assert exit_info.value.code == 1
    assert t.interrupted and record[-1] == "cb.on_exception"


def test_every_table_hook_exists_on_callback_and_module():
    for spec in HOOKS:
        if CALLBACK in spec.owners:
            assert callable(getattr(pl.Callback, spec.name)), spec.name
        if MODULE in spec.owners:
            assert callable(getattr(pl.LightningModule, spec.name)), spec.name
