"""The namespaces whose members load on first use: ``import plkit`` imports none of the optional
features, and every public name still resolves the ways a Lightning script reads it."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

# Package -> its lazy members' modules, which ``import plkit`` must leave unloaded.
LAZY = {
    "plkit.callbacks": (
        "plkit.callbacks.model_checkpoint",
        "plkit.callbacks.early_stopping",
        "plkit.callbacks.model_summary",
        "plkit.callbacks.stochastic_weight_avg",
        "plkit.callbacks.weight_averaging",
        "plkit.callbacks.pruning",
        "plkit.callbacks.batch_size_finder",
        "plkit.callbacks.rich_model_summary",
    ),
    "plkit.loggers": ("pllog.csv", "pllog.tensorboard", "pllog.mlflow", "pllog.wandb"),
    "plkit.tuner": ("plkit.tuner.tuning", "plkit.tuner.lr_finder"),
    "plkit.plugins": ("plkit.plugins.io", "plkit.plugins.precision", "plcore.async_checkpoint"),
    "pllog": ("pllog.comet", "pllog.progress.tqdm", "pllog.progress.rich"),
    "pllog.progress": (),
}


def test_import_plkit_loads_none_of_the_lazy_modules() -> None:
    watched = sorted({m for mods in LAZY.values() for m in mods})
    code = (
        "import sys, plkit\n"
        f"print(','.join(m for m in {watched!r} if m in sys.modules))\n"
        "import plkit.callbacks as cb; cb.ModelCheckpoint\n"
        "print('plkit.callbacks.model_checkpoint' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    assert out == ["", "True"]


@pytest.mark.parametrize("package", sorted(LAZY))
def test_every_name_in_a_lazy_all_resolves_and_is_listed(package: str) -> None:
    mod = importlib.import_module(package)
    for name in mod.__all__:
        value = getattr(mod, name)
        assert value is not None
        assert getattr(mod, name) is value
    assert set(mod.__all__) <= set(dir(mod))
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'NoSuchName'"):
        mod.NoSuchName  # noqa: B018


def test_the_ways_a_script_reaches_a_callback_agree() -> None:
    import plkit as pl
    import plkit.callbacks.stochastic_weight_avg as swa_module
    from plkit.callbacks import StochasticWeightAveraging, TQDMProgressBar
    from pllog import TQDMProgressBar as BarFromPllog

    assert pl.callbacks.StochasticWeightAveraging is StochasticWeightAveraging
    assert swa_module.StochasticWeightAveraging is StochasticWeightAveraging
    assert TQDMProgressBar is BarFromPllog
    assert pl.loggers.CSVLogger is importlib.import_module("pllog").CSVLogger
    assert pl.tuner.Tuner is importlib.import_module("plkit.tuner.tuning").Tuner


def test_a_submodule_read_as_an_attribute_is_imported() -> None:
    code = (
        "import plkit as pl\n"
        "print(pl.tuner.Tuner.__name__, pl.callbacks.early_stopping.EarlyStopping.__name__)\n"
        "print(pl.callbacks.lr_monitor.LearningRateMonitor.__name__)\n"
        "print(hasattr(pl.callbacks, 'no_such_module'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    assert out == ["Tuner EarlyStopping", "LearningRateMonitor", "False"]
