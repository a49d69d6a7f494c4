"""Wrong values across the public API, each met with a clear error (issue 11, point 6).

One table: every row is a wrong value, the error type it must raise, and the words its message
must contain (the argument's name and what to write instead). Rows whose mistake is knowable before
training (constructor flags, set-up, data, optimizers, checkpoint paths) also check that
``training_step`` never ran; ``self.log`` mistakes are found on the first step.

A wrong *type* for a numeric Trainer flag may raise TypeError or ValueError: the flag checks treat
"not an int >= 1" as one condition, and both name the flag and the accepted values. Rows marked
``BUG`` are strict xfails describing what plkit should do and does not yet.

Run with ``python -m pytest tests/integration/test_bad_input.py -q``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

import plkit as pl
from plcore import CheckpointError, UnsafeCheckpointError
from plcore.utilities.exceptions import MisconfigurationException
from plkit.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
from plkit.loggers import CSVLogger, TensorBoardLogger

TYPE_OR_VALUE = (TypeError, ValueError)
STEPS: list[int] = []  # batch indices training_step saw in the current row


# ---------------------------------------------------------------------------------------------
# a model whose hooks a row can replace
# ---------------------------------------------------------------------------------------------
class Model(pl.LightningModule):
    """A linear model; ``log``, ``optimizers`` and ``train`` replace what its hooks do.

    Args:
        log: called with the module inside ``training_step`` (to call ``self.log`` wrongly).
        optimizers: returns what ``configure_optimizers`` returns.
        train: returns what ``train_dataloader`` returns.
    """

    def __init__(
        self,
        log: Callable[[Any], None] | None = None,
        optimizers: Callable[[Any], Any] | None = None,
        train: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layer = nn.Linear(2, 1)
        self._log_fn, self._optimizers_fn, self._train_fn = log, optimizers, train

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        STEPS.append(batch_idx)
        if self._log_fn is not None:
            self._log_fn(self)
        return self.layer(batch).pow(2).mean()

    def configure_optimizers(self) -> Any:
        if self._optimizers_fn is not None:
            return self._optimizers_fn(self)
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self) -> Any:
        return self._train_fn() if self._train_fn is not None else data()


class ValModel(Model):
    """Model with validation, for callbacks that monitor a validation metric."""

    def __init__(self, val: Callable[[], Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._val_fn = val

    def validation_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        self.log("val_loss", self.layer(batch).pow(2).mean())

    def val_dataloader(self) -> Any:
        return self._val_fn() if self._val_fn is not None else data()


class OtherModel(pl.LightningModule):
    """Weights that do not fit ``Model`` (for loading a checkpoint into the wrong class)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Linear(3, 3)


def data() -> DataLoader:
    return DataLoader(torch.randn(8, 2, generator=torch.Generator().manual_seed(0)), batch_size=2)


def trainer(**flags: Any) -> pl.Trainer:
    options: dict[str, Any] = dict(
        accelerator="cpu",
        devices=1,
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    options.update(flags)
    return pl.Trainer(**options)


def fit(model: pl.LightningModule | None = None, **flags: Any) -> None:
    trainer(**flags).fit(model if model is not None else Model())


def log_wrong(*args: Any, **kwargs: Any) -> Callable[[Any], None]:
    return lambda module: module.log(*args, **kwargs)


def sgd(module: Any) -> torch.optim.Optimizer:
    return torch.optim.SGD(module.parameters(), lr=0.1)


def with_scheduler(config: Any) -> Callable[[Any], Any]:
    """configure_optimizers returning ``([sgd], [config(sgd)])``."""

    def optimizers(module: Any) -> Any:
        opt = sgd(module)
        return [opt], [config(opt)]

    return optimizers


def step_lr(opt: torch.optim.Optimizer) -> Any:
    return torch.optim.lr_scheduler.StepLR(opt, step_size=1)


# --- checkpoint files ---------------------------------------------------------------------------
def real_checkpoint(folder: Path, weights_only: bool = False) -> Path:
    """A genuine plkit checkpoint of ``Model`` after one step."""
    path = folder / ("weights.ckpt" if weights_only else "good.ckpt")
    tr = trainer(max_steps=1)
    tr.fit(Model())
    tr.save_checkpoint(path, weights_only=weights_only)
    STEPS.clear()  # making the file is not part of the row
    return path


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def truncated(folder: Path) -> Path:
    good = real_checkpoint(folder).read_bytes()
    return write(folder / "truncated.ckpt", good[: len(good) // 2])


def saved(folder: Path, name: str, obj: Any) -> Path:
    path = folder / name
    torch.save(obj, path)
    return path


class Pickled:
    """A class instance in a file: loading it would need to run this module's code."""


def fit_from(path: Path | str | int, model: pl.LightningModule | None = None) -> None:
    trainer(max_epochs=2).fit(model if model is not None else Model(), ckpt_path=path)


# ---------------------------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One wrong input.

    Args:
        id: the row's name in the test report.
        call: does the wrong thing; gets the row's temporary folder.
        error: the exception type (or types) it must raise.
        words: what the message must contain ("{tmp}" is the temporary folder).
        steps: training_step calls allowed before the error; None when not checked.
        absent: what the message must not say (a misleading diagnosis).
        bug: a reason, when plkit does not behave so yet (the row becomes a strict xfail).
    """

    id: str
    call: Callable[[Path], Any]
    error: type[BaseException] | tuple[type[BaseException], ...]
    words: tuple[str, ...]
    steps: int | None = 0
    absent: tuple[str, ...] = ()
    bug: str | None = None


def flag(name: str, value: Any, error: Any, *words: str, bug: str | None = None) -> Case:
    """A Trainer constructor row: ``Trainer(name=value)``."""
    return Case(
        f"Trainer({name}={value!r})",
        lambda _: trainer(**{name: value}),
        error,
        (name, *words),
        bug=bug,
    )


def bool_flag(name: str) -> Case:
    return flag(
        name,
        "no",
        TypeError,
        "True",
    )


TRAINER_FLAGS = [
    flag("accelerator", 3, TypeError, "cpu"),
    flag("accelerator", "tpu", ValueError, "cpu"),
    flag("strategy", 3, TypeError, "ddp"),
    flag("strategy", "ddp_fast", ValueError, "ddp_spawn"),
    flag("devices", "two", TYPE_OR_VALUE, "auto"),
    flag("devices", 0, ValueError, "devices"),
    flag("devices", 1.5, TYPE_OR_VALUE, "int"),
    flag("num_nodes", 0, ValueError, ">= 1"),
    flag("num_nodes", "2", TYPE_OR_VALUE, ">= 1"),
    flag("precision", "15-mixed", ValueError, "32-true", "bf16-mixed"),
    flag("precision", [32], TypeError, "32-true"),
    flag("logger", "tensorboard", TypeError, "TensorBoardLogger", "True or False"),
    flag("logger", TensorBoardLogger, TypeError, "instance"),
    flag("callbacks", ModelCheckpoint, TypeError, "ModelCheckpoint()"),
    flag("callbacks", ["early_stopping"], TypeError, "Callback"),
    flag("fast_dev_run", -1, ValueError, "True/False", "positive int"),
    flag("fast_dev_run", "yes", TYPE_OR_VALUE, "True/False"),
    flag("max_epochs", -2, ValueError, "-1", ">= 0"),
    flag("max_epochs", "10", TYPE_OR_VALUE, ">= 0"),
    flag("min_epochs", -1, ValueError, ">= 0"),
    flag("min_epochs", 1.5, TYPE_OR_VALUE, "int"),
    Case(
        "Trainer(min_epochs=5, max_epochs=2)",
        lambda _: trainer(min_epochs=5, max_epochs=2),
        ValueError,
        ("min_epochs", "max_epochs=2"),
    ),
    flag("max_steps", -5, ValueError, "-1", "positive int"),
    flag("max_steps", 1.5, TYPE_OR_VALUE, "-1"),
    flag("min_steps", -1, ValueError, ">= 0"),
    flag("min_steps", "3", TYPE_OR_VALUE, ">= 0"),
    flag("max_time", "1 hour", ValueError, "DD:HH:MM:SS", "timedelta"),
    flag("max_time", {"hourz": 1}, ValueError, "timedelta"),
    flag("max_time", 3600, TYPE_OR_VALUE, "DD:HH:MM:SS"),
    flag("limit_train_batches", 1.5, ValueError, "[0.0, 1.0]"),
    flag("limit_train_batches", "all", TYPE_OR_VALUE, "int", "float"),
    flag("limit_val_batches", -1, ValueError, ">= 0"),
    flag("limit_test_batches", 2.5, ValueError, "[0.0, 1.0]"),
    flag("limit_predict_batches", [1], TYPE_OR_VALUE, "int", "float"),
    flag("overfit_batches", -1, ValueError, ">= 0"),
    flag("overfit_batches", 1.5, ValueError, "[0.0, 1.0]"),
    flag("val_check_interval", 0, ValueError, "> 0"),
    flag("val_check_interval", 1.5, ValueError, "(0.0, 1.0]"),
    flag("val_check_interval", "0.5", TYPE_OR_VALUE, "float", "int"),
    flag("check_val_every_n_epoch", 0, ValueError, ">= 1", "None"),
    flag("check_val_every_n_epoch", 0.5, TYPE_OR_VALUE, ">= 1"),
    flag("num_sanity_val_steps", -2, ValueError, "-1", "0 (off)"),
    flag("num_sanity_val_steps", "2", TYPE_OR_VALUE, "-1"),
    flag("log_every_n_steps", 10.0, TYPE_OR_VALUE, "int"),
    flag("accumulate_grad_batches", 0, ValueError, ">= 1"),
    flag("accumulate_grad_batches", 2.5, TYPE_OR_VALUE, ">= 1"),
    flag("gradient_clip_val", -1.0, ValueError, ">= 0", "None"),
    flag("gradient_clip_val", "1.0", TYPE_OR_VALUE, "number"),
    flag("gradient_clip_algorithm", "l2", ValueError, "'norm'", "'value'"),
    flag("gradient_clip_algorithm", 1, TYPE_OR_VALUE, "'norm'"),
    flag("deterministic", "yes", ValueError, "True, False or 'warn'"),
    flag("deterministic", 2, ValueError, "'warn'"),
    flag("profiler", "fancy", MisconfigurationException, "'simple', 'advanced', 'pytorch'"),
    flag("profiler", 3, TypeError, "plkit.profilers.Profiler"),
    flag("plugins", ["my_plugin"], ValueError, "precision"),
    flag("reload_dataloaders_every_n_epochs", -1, ValueError, ">= 0"),
    flag("reload_dataloaders_every_n_epochs", 1.5, TYPE_OR_VALUE, ">= 0"),
    flag("resume", "always", ValueError, "'auto'"),
    flag("resume", True, ValueError, "None or 'auto'"),
    flag(
        "default_root_dir",
        3,
        TypeError,
        "str",
    ),
    Case(
        "Trainer(barebones=True, enable_checkpointing=True)",
        lambda _: trainer(barebones=True, enable_checkpointing=True),
        ValueError,
        ("enable_checkpointing", "barebones"),
    ),
    Case(
        "Trainer(barebones=True, enable_progress_bar=True)",
        lambda _: pl.Trainer(barebones=True, enable_progress_bar=True),
        ValueError,
        ("enable_progress_bar", "barebones"),
    ),
    Case(
        "Trainer(barebones=True, enable_model_summary=True)",
        lambda _: pl.Trainer(barebones=True, enable_model_summary=True),
        ValueError,
        ("enable_model_summary", "barebones"),
    ),
    Case(
        "Trainer(barebones=True, logger=CSVLogger)",
        lambda tmp: pl.Trainer(barebones=True, logger=CSVLogger(tmp)),
        ValueError,
        ("logger", "barebones"),
    ),
    Case(
        "Trainer(enable_checkpointing=False, callbacks=[ModelCheckpoint()])",
        lambda _: trainer(enable_checkpointing=False, callbacks=[ModelCheckpoint()]),
        ValueError,
        ("enable_checkpointing", "ModelCheckpoint"),
    ),
    Case(
        "Trainer(strategy='single_device', devices=2)",
        lambda _: trainer(strategy="single_device", devices=2),
        ValueError,
        ("single_device", "devices=1"),
    ),
    *(
        bool_flag(name)
        for name in (
            "enable_checkpointing",
            "enable_progress_bar",
            "enable_model_summary",
            "benchmark",
            "inference_mode",
            "use_distributed_sampler",
            "detect_anomaly",
            "barebones",
            "sync_batchnorm",
        )
    ),
]


def callback(
    name: str, make: Callable[[], Any], error: Any, *words: str, bug: str | None = None
) -> Case:
    return Case(name, lambda _: make(), error, words, bug=bug)


CALLBACKS = [
    callback(
        "ModelCheckpoint(dirpath=3)",
        lambda: ModelCheckpoint(dirpath=3),
        TypeError,
        "dirpath",
        "str",
    ),
    callback(
        "ModelCheckpoint(filename=3)",
        lambda: ModelCheckpoint(filename=3),
        TypeError,
        "filename",
        "str",
    ),
    callback(
        "ModelCheckpoint(monitor=3)",
        lambda: ModelCheckpoint(monitor=3),
        TypeError,
        "monitor",
        "str",
    ),
    callback(
        "ModelCheckpoint(save_top_k=-2)",
        lambda: ModelCheckpoint(save_top_k=-2),
        ValueError,
        "save_top_k",
        "-1",
    ),
    callback(
        "ModelCheckpoint(save_top_k='3')",
        lambda: ModelCheckpoint(save_top_k="3"),
        TypeError,
        "save_top_k",
        "int",
    ),
    callback(
        "ModelCheckpoint(save_top_k=3) without monitor",
        lambda: ModelCheckpoint(save_top_k=3),
        ValueError,
        "save_top_k=3",
        "monitor=",
    ),
    callback(
        "ModelCheckpoint(mode='mid')",
        lambda: ModelCheckpoint(mode="mid"),
        ValueError,
        "mode",
        "'min' or 'max'",
    ),
    callback(
        "ModelCheckpoint(every_n_train_steps=-1)",
        lambda: ModelCheckpoint(every_n_train_steps=-1),
        ValueError,
        "every_n_train_steps",
        ">= 0",
    ),
    callback(
        "ModelCheckpoint(every_n_epochs=1.5)",
        lambda: ModelCheckpoint(every_n_epochs=1.5),
        TYPE_OR_VALUE,
        "every_n_epochs",
        "int",
    ),
    callback(
        "ModelCheckpoint(train_time_interval=60)",
        lambda: ModelCheckpoint(train_time_interval=60),
        TypeError,
        "train_time_interval",
        "timedelta",
    ),
    callback(
        "ModelCheckpoint(save_last='always')",
        lambda: ModelCheckpoint(save_last="always"),
        ValueError,
        "save_last",
        "'link'",
    ),
    callback(
        "ModelCheckpoint(every_n_train_steps=2, train_time_interval=...)",
        lambda: ModelCheckpoint(every_n_train_steps=2, train_time_interval=timedelta(minutes=1)),
        ValueError,
        "mutually exclusive",
        "only one",
    ),
    callback(
        "EarlyStopping(monitor=None)",
        lambda: EarlyStopping(monitor=None),
        TypeError,
        "monitor",
        "val_loss",
    ),
    callback("EarlyStopping(monitor=3)", lambda: EarlyStopping(monitor=3), TypeError, "monitor"),
    callback(
        "EarlyStopping(mode='up')",
        lambda: EarlyStopping("val_loss", mode="up"),
        ValueError,
        "mode",
        "'min' or 'max'",
    ),
    callback(
        "EarlyStopping(min_delta='0.1')",
        lambda: EarlyStopping("val_loss", min_delta="0.1"),
        TypeError,
        "min_delta",
        "number",
    ),
    callback(
        "EarlyStopping(patience=-1)",
        lambda: EarlyStopping("val_loss", patience=-1),
        ValueError,
        "patience",
        ">= 0",
    ),
    callback(
        "EarlyStopping(patience=2.5)",
        lambda: EarlyStopping("val_loss", patience=2.5),
        TYPE_OR_VALUE,
        "patience",
        "int",
    ),
    callback(
        "EarlyStopping(stopping_threshold='low')",
        lambda: EarlyStopping("val_loss", stopping_threshold="low"),
        TypeError,
        "stopping_threshold",
        "number",
    ),
    callback(
        "LearningRateMonitor(logging_interval='batch')",
        lambda: LearningRateMonitor(logging_interval="batch"),
        ValueError,
        "logging_interval",
        "'step', 'epoch' or None",
    ),
    callback(
        "TensorBoardLogger(save_dir=3)",
        lambda: TensorBoardLogger(save_dir=3),
        TypeError,
        "save_dir",
        "path",
    ),
    callback(
        "TensorBoardLogger(version=-1)",
        lambda: TensorBoardLogger("logs", version=-1),
        TypeError,
        "version",
        "int >= 0",
    ),
    callback(
        "TensorBoardLogger(flush_every=10)",
        lambda: TensorBoardLogger("logs", flush_every=10),
        TypeError,
        "flush_every",
        "flush_secs",
    ),
    callback(
        "CSVLogger(save_dir=None)", lambda: CSVLogger(save_dir=None), TypeError, "save_dir", "path"
    ),
    callback(
        "CSVLogger(flush_logs_every_n_steps=0)",
        lambda: CSVLogger("logs", flush_logs_every_n_steps=0),
        ValueError,
        "flush_logs_every_n_steps",
        ">= 1",
    ),
    callback(
        "CSVLogger(version='')",
        lambda: CSVLogger("logs", version=""),
        TypeError,
        "version",
        "non-empty string",
    ),
]

RUNTIME_CALLBACKS = [
    Case(
        "LearningRateMonitor without a logger",
        lambda _: fit(callbacks=[LearningRateMonitor()]),
        ValueError,
        ("LearningRateMonitor", "logger"),
    ),
    Case(  # a misspelt metric can only be found once validation has run
        "ModelCheckpoint(monitor='val_los')",
        lambda tmp: fit(
            ValModel(),
            enable_checkpointing=True,
            callbacks=[ModelCheckpoint(dirpath=tmp, monitor="val_los")],
        ),
        ValueError,
        ("val_los", "val_loss"),
        steps=None,
    ),
    Case(
        "EarlyStopping(monitor='val_los')",
        lambda _: fit(ValModel(), callbacks=[EarlyStopping(monitor="val_los")]),
        RuntimeError,
        ("val_los", "val_loss"),
        steps=None,
    ),
]


def log_case(name: str, log: Callable[[Any], None], error: Any, *words: str) -> Case:
    return Case(f"self.log: {name}", lambda _: fit(Model(log=log)), error, words, steps=1)


def log_twice(module: Any) -> None:
    module.log("loss", 1.0)
    module.log("loss", 1.0, prog_bar=True)


SELF_LOG = [
    log_case("empty name", log_wrong("", 1.0), TypeError, "self.log", "non-empty string"),
    log_case("int name", log_wrong(3, 1.0), TypeError, "self.log", "string"),
    # ValueError, as Lightning raises (tests/compat s022 compares the classes)
    log_case("str value", log_wrong("acc", "high"), ValueError, "'acc'", "scalar tensor", "number"),
    log_case("None value", log_wrong("acc", None), ValueError, "'acc'", "scalar tensor"),
    log_case(
        "vector value", log_wrong("acc", torch.ones(3)), ValueError, "scalar", "(3,)", "mean()"
    ),
    log_case(
        "reduce_fx='median'",
        log_wrong("acc", 1.0, reduce_fx="median"),
        ValueError,
        "reduce_fx",
        "'mean'",
    ),
    log_case(
        "on_step=False, on_epoch=False",
        log_wrong("acc", 1.0, on_step=False, on_epoch=False),
        ValueError,
        "on_step=False, on_epoch=False",
        "on_epoch=True",
    ),
    log_case(
        "reserved suffix", log_wrong("acc/dataloader_idx_0", 1.0), ValueError, "/dataloader_idx_"
    ),
    log_case("same key, other options", log_twice, ValueError, "'loss'", "same options"),
    Case(
        "self.log in configure_optimizers",
        lambda _: fit(Model(optimizers=lambda m: (m.log("lr", 0.1), sgd(m))[1])),
        MisconfigurationException,
        ("configure_optimizers", "training_step"),
    ),
]


def optimizers_case(name: str, returns: Callable[[Any], Any], error: Any, *words: str) -> Case:
    return Case(
        f"configure_optimizers returns {name}",
        lambda _: fit(Model(optimizers=returns)),
        error,
        words,
    )


def two_sgds(module: Any) -> list[torch.optim.Optimizer]:
    return [sgd(module), sgd(module)]


def foreign_scheduler(module: Any) -> Any:
    other = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    return [sgd(module)], [step_lr(other)]


def plateau_without_monitor(module: Any) -> Any:
    opt = sgd(module)
    return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.ReduceLROnPlateau(opt)}


CONFIGURE_OPTIMIZERS = [
    optimizers_case("a string", lambda m: "adam", TypeError, "configure_optimizers", "optimizer"),
    optimizers_case(
        "an int",
        lambda m: 42,
        TypeError,
        "configure_optimizers returned int",
        "([optimizers], [schedulers])",
    ),
    optimizers_case(
        "the model", lambda m: m, TypeError, "configure_optimizers returned Model", "an optimizer"
    ),
    optimizers_case(
        "[optimizer, 'x']", lambda m: [sgd(m), "x"], TypeError, "configure_optimizers", "str"
    ),
    optimizers_case(
        "a dict without 'optimizer'",
        lambda m: {"lr_scheduler": step_lr(sgd(m))},
        KeyError,  # Lightning's class
        "'optimizer' key",
    ),
    optimizers_case(
        "interval='batch'",
        with_scheduler(lambda opt: {"scheduler": step_lr(opt), "interval": "batch"}),
        ValueError,
        "interval='batch'",
        "'epoch' or 'step'",
    ),
    optimizers_case(
        "frequency=0",
        with_scheduler(lambda opt: {"scheduler": step_lr(opt), "frequency": 0}),
        ValueError,
        "frequency=0",
        ">= 1",
    ),
    optimizers_case(
        "a scheduler name", with_scheduler(lambda opt: "cosine"), TypeError, "str", "scheduler"
    ),
    optimizers_case(
        "a config with 'schedular'",
        with_scheduler(lambda opt: {"schedular": step_lr(opt)}),
        ValueError,
        "'schedular'",
        "'scheduler'",
    ),
    optimizers_case(
        "ReduceLROnPlateau without monitor",
        plateau_without_monitor,
        ValueError,
        "ReduceLROnPlateau",
        "'monitor'",
    ),
    optimizers_case(
        "two optimizers (automatic)",
        two_sgds,
        RuntimeError,
        "manual optimization",
        "automatic_optimization = False",
    ),
    optimizers_case(
        "another optimizer's scheduler",
        foreign_scheduler,
        ValueError,
        "StepLR",
        "return that optimizer",
    ),
]


def train_case(name: str, returns: Callable[[], Any], error: Any, *words: str) -> Case:
    return Case(
        f"train_dataloader returns {name}", lambda _: fit(Model(train=returns)), error, words
    )


DATA = [
    # Lightning's TypeError, naming where the loader came from
    train_case("an int", lambda: 7, TypeError, "`Model.train_dataloader()`", "Found 7."),
    train_case(
        "a tensor", lambda: torch.randn(8, 2), TypeError, "train_dataloader", "Tensor", "DataLoader"
    ),
    train_case(
        "a file name", lambda: "data.csv", TypeError, "train_dataloader", "str", "DataLoader"
    ),
    train_case(
        "[loader, 3]", lambda: [data(), 3], TypeError, "`Model.train_dataloader()`", "Found 3."
    ),
    train_case("None", lambda: None, TypeError, "`Model.train_dataloader()`", "Found None."),
    Case(
        "val_dataloader returns an int",
        lambda _: fit(ValModel(val=lambda: 5)),
        TypeError,
        ("`ValModel.val_dataloader()`", "Found 5."),
    ),
    Case(
        "fit(model, train_dataloaders=3)",
        lambda _: trainer().fit(Model(), train_dataloaders=3),
        TypeError,
        ("passed to `Trainer.fit(train_dataloaders=...)`", "Found 3."),
    ),
    Case(
        "fit(model, loader, datamodule=dm)",
        lambda _: trainer().fit(Model(), data(), datamodule=pl.LightningDataModule()),
        MisconfigurationException,
        (
            "You cannot pass `train_dataloader` or `val_dataloaders`",
            "`trainer.fit(datamodule=...)`",
        ),
    ),
    Case(
        "fit(nn.Linear)",
        lambda _: trainer().fit(nn.Linear(2, 1)),
        TypeError,
        ("LightningModule", "Linear"),
    ),
    Case(
        "fit(model, datamodule=object())",
        lambda _: trainer().fit(Model(), datamodule=object()),
        TypeError,
        ("datamodule", "LightningDataModule"),
    ),
    Case(
        "limit_train_batches=0.1 of 4 batches",
        lambda _: fit(limit_train_batches=0.1),
        ValueError,
        ("limit_train_batches=0.1", "0 of the 4", "int"),
    ),
]

CHECKPOINTS = [
    Case(
        "ckpt_path missing",
        lambda tmp: fit_from(tmp / "missing.ckpt"),
        FileNotFoundError,
        ("Checkpoint file not found: {tmp}/missing.ckpt",),
    ),
    Case(
        "ckpt_path is a directory",
        lambda tmp: fit_from(tmp),
        CheckpointError,
        ("{tmp}", "directory"),
        absent=("truncated or corrupt", "not written completely"),
    ),
    Case(
        "ckpt_path holds random bytes",
        lambda tmp: fit_from(write(tmp / "random.ckpt", b"\x13\x37 not a checkpoint " * 16)),
        CheckpointError,
        ("{tmp}/random.ckpt", "corrupt"),
    ),
    Case(
        "ckpt_path holds a half-written zip",
        lambda tmp: fit_from(truncated(tmp)),
        CheckpointError,
        ("{tmp}/truncated.ckpt", "truncated"),
    ),
    Case(
        "ckpt_path holds a tensor",
        lambda tmp: fit_from(saved(tmp, "tensor.pt", torch.zeros(3))),
        CheckpointError,
        ("{tmp}/tensor.pt", "Tensor", "not a checkpoint dict"),
    ),
    Case(
        "ckpt_path holds a bare state_dict",
        lambda tmp: fit_from(saved(tmp, "state.pt", Model().state_dict())),
        CheckpointError,
        ("{tmp}/state.pt", "state_dict"),
    ),
    Case(
        "ckpt_path holds a pickled object",
        lambda tmp: fit_from(saved(tmp, "object.pt", {"state_dict": Pickled()})),
        UnsafeCheckpointError,
        ("{tmp}/object.pt", "Pickled", "weights_only=False"),
    ),
    Case(
        "ckpt_path is a weights-only checkpoint",
        lambda tmp: fit_from(real_checkpoint(tmp, weights_only=True)),
        CheckpointError,
        ("{tmp}/weights.ckpt", "weights only", "load_from_checkpoint"),
    ),
    Case(
        "ckpt_path of another model",
        lambda tmp: fit_from(real_checkpoint(tmp), model=OtherFit()),
        RuntimeError,
        ("Missing keys", "layer.weight", "same hyper-parameters"),
    ),
    Case(
        "ckpt_path=3", lambda _: fit_from(3), FileNotFoundError, ("Checkpoint file not found: 3",)
    ),
    Case(
        "ckpt_path=''",
        lambda _: fit_from(""),
        ValueError,
        ("found no path for the best weights: ''", "`.fit(ckpt_path=PATH)`"),
    ),
    Case(
        "ckpt_path='best' before any save",
        lambda _: trainer().validate(ValModel(), ckpt_path="best"),
        ValueError,
        ('`.validate(ckpt_path="best")`', "`ModelCheckpoint` is not configured."),
    ),
    Case(
        "validate(ckpt_path=missing)",
        lambda tmp: trainer().validate(ValModel(), ckpt_path=tmp / "missing.ckpt"),
        FileNotFoundError,
        ("{tmp}/missing.ckpt",),
    ),
    Case(
        "load_from_checkpoint(missing)",
        lambda tmp: Model.load_from_checkpoint(tmp / "missing.ckpt"),
        FileNotFoundError,
        ("{tmp}/missing.ckpt", "not found"),
    ),
    Case(
        "load_from_checkpoint(random bytes)",
        lambda tmp: Model.load_from_checkpoint(
            write(tmp / "random.ckpt", b"\x13\x37 not a checkpoint " * 16)
        ),
        CheckpointError,
        ("{tmp}/random.ckpt", "corrupt"),
    ),
    Case(
        "load_from_checkpoint into another class",
        lambda tmp: OtherModel.load_from_checkpoint(real_checkpoint(tmp)),
        RuntimeError,
        ("{tmp}/good.ckpt", "encoder.weight", "layer.weight", "strict=False"),
    ),
]


class OtherFit(Model):
    """A trainable model whose layer names differ from ``Model``'s."""

    def __init__(self) -> None:
        super().__init__()
        del self.layer
        self.head = nn.Linear(2, 1)

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        STEPS.append(batch_idx)
        return self.head(batch).pow(2).mean()


class LossModel(Model):
    """``training_step`` returns ``loss(output)``: a loss the user got wrong."""

    def __init__(self, loss: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self._loss = loss

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        STEPS.append(batch_idx)
        return self._loss(self.layer(batch))


def under_a_file(tmp: Path) -> Path:
    """A folder that cannot be created, even by root: its parent is a regular file."""
    (tmp / "file").write_text("x")
    return tmp / "file" / "logs"


# Mistakes in the user's own code: torch's (or Lightning's) class and message, and a note naming
# the fix (checked with the message: notes are part of what the traceback shows).
SOURCE_MISTAKES = [
    Case(
        "Adam(self.parameters) without the call",
        lambda _: fit(Model(optimizers=lambda m: torch.optim.Adam(m.parameters, lr=1e-3))),
        TypeError,
        ("'method' object is not iterable", "self.parameters()"),
    ),
    Case(
        "training_step returns a [B] loss",
        lambda _: fit(LossModel(lambda out: out.squeeze(1))),
        RuntimeError,
        ("only for scalar outputs", "loss.mean()"),
        steps=1,
    ),
    Case(
        "training_step returns a loss without grad",
        lambda _: fit(LossModel(lambda out: out.pow(2).mean().detach())),
        RuntimeError,
        ("does not require grad", "detached", "torch.no_grad()"),
        steps=1,
    ),
    Case(
        "ModelCheckpoint(filename='../../x-{epoch}')",
        lambda _: ModelCheckpoint(filename="../../x-{epoch}"),
        MisconfigurationException,
        ("../../x-{{epoch}}", "outside `dirpath`", "dirpath="),
    ),
    Case(
        "default_root_dir under a file",
        lambda tmp: fit(default_root_dir=under_a_file(tmp), enable_checkpointing=True),
        NotADirectoryError,
        ("{tmp}/file/logs", "is a file, not a folder", "default_root_dir="),
    ),
]


CASES = [
    *TRAINER_FLAGS,
    *CALLBACKS,
    *RUNTIME_CALLBACKS,
    *SELF_LOG,
    *CONFIGURE_OPTIMIZERS,
    *DATA,
    *CHECKPOINTS,
    *SOURCE_MISTAKES,
]


def test_the_table_covers_at_least_fifty_wrong_values():
    assert len(CASES) >= 50
    assert len({case.id for case in CASES}) == len(CASES)


def _param(case: Case) -> Any:
    marks = [pytest.mark.xfail(reason=case.bug, strict=True)] if case.bug else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Logs and checkpoints land in the row's own folder; every row starts with no steps."""
    monkeypatch.chdir(tmp_path)
    STEPS.clear()


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_wrong_input_raises_a_clear_error(case: Case, tmp_path: Path) -> None:
    with pytest.raises(case.error) as info:
        case.call(tmp_path)
    message = "\n".join([str(info.value), *getattr(info.value, "__notes__", ())])
    for word in case.words:
        assert word.format(tmp=tmp_path) in message, f"{word!r} not in: {message}"
    for word in case.absent:
        assert word not in message, f"{word!r} in: {message}"
    if case.steps is not None:
        assert len(STEPS) <= case.steps, f"training_step ran {len(STEPS)} time(s) before the error"
