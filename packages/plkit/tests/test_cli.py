"""LightningCLI as a user drives it: a script run with argv, config files, the saved config.

The script (``APP`` below, written into each test's folder) prints what a user would read
after a run as one JSON line; the tests run it in a subprocess, as from a shell::

    python app.py fit --config a.yaml --config b.yaml --trainer.max_epochs=2
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import yaml

import plkit as pl

pytest.importorskip("jsonargparse", reason="plkit.cli needs the cli extra")

APP = textwrap.dedent(
    '''
    """A small LightningCLI application."""
    import json

    import torch
    from torch.utils.data import DataLoader, TensorDataset

    import plkit as pl
    from plkit.cli import LightningCLI


    class Model(pl.LightningModule):
        """A two-layer regression.

        Args:
            hidden: width of the hidden layer.
            lr: the learning rate of the model's own SGD.
        """

        def __init__(self, hidden: int = 4, lr: float = 0.1) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(3, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1)
            )

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, batch_idx):
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

        def test_step(self, batch, batch_idx):
            x, y = batch
            self.log("test_loss", torch.nn.functional.mse_loss(self.net(x), y))

        def predict_step(self, batch, batch_idx):
            return self.net(batch[0])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


    class WideModel(Model):
        """The same model with a scale on its output.

        Args:
            scale: multiplies the prediction.
        """

        def __init__(self, scale: float = 1.0, hidden: int = 8, lr: float = 0.1) -> None:
            super().__init__(hidden=hidden, lr=lr)
            self.scale = scale


    class Data(pl.LightningDataModule):
        """Random regression data.

        Args:
            batch_size: samples per batch.
            n: number of samples.
        """

        def __init__(self, batch_size: int = 8, n: int = 32) -> None:
            super().__init__()
            self.batch_size = batch_size
            g = torch.Generator().manual_seed(0)
            x = torch.randn(n, 3, generator=g)
            self.ds = TensorDataset(x, x.sum(1, keepdim=True))

        def train_dataloader(self):
            return DataLoader(self.ds, batch_size=self.batch_size)

        def val_dataloader(self):
            return DataLoader(self.ds, batch_size=self.batch_size)

        def test_dataloader(self):
            return DataLoader(self.ds, batch_size=self.batch_size)

        def predict_dataloader(self):
            return DataLoader(self.ds, batch_size=self.batch_size)


    class CLI(LightningCLI):
        def before_fit(self):
            self.calls = ["before_fit"]

        def after_fit(self):
            self.calls.append("after_fit")


    def report(cli):
        trainer, model = cli.trainer, cli.model
        opt = trainer.optimizers[0] if trainer.optimizers else None
        print("REPORT " + json.dumps({
            "subcommand": cli.subcommand,
            "model": type(model).__name__,
            "hparams": dict(model.hparams),
            "batch_size": cli.datamodule.batch_size,
            "epochs": trainer.current_epoch,
            "step": trainer.global_step,
            "max_epochs": trainer.max_epochs,
            "optimizer": type(opt).__name__ if opt else None,
            "lr": opt.param_groups[0]["lr"] if opt else None,
            "metrics": {k: float(v) for k, v in trainer.callback_metrics.items()},
            "weight": model.net[0].weight.flatten().tolist(),
            "log_dir": trainer.log_dir,
            "calls": getattr(cli, "calls", []),
        }))


    if __name__ == "__main__":
        import sys
        subclass = "--subclass" in sys.argv
        if subclass:
            sys.argv.remove("--subclass")
        cli = CLI(Model, Data, subclass_mode_model=subclass, seed_everything_default=7,
                  trainer_defaults={"enable_progress_bar": False, "enable_model_summary": False})
        report(cli)
    '''
)

INSTANTIATOR = "plkit.cli.instantiate_module"
QUIET = ["--trainer.limit_train_batches=2", "--trainer.limit_val_batches=1"]


def run_app(folder: Path, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    (folder / "app.py").write_text(APP)
    result = subprocess.run(
        [sys.executable, "app.py", *argv],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def report_of(result: subprocess.CompletedProcess[str]) -> dict:
    lines = [line for line in result.stdout.splitlines() if line.startswith("REPORT ")]
    assert len(lines) == 1, result.stdout + result.stderr
    return json.loads(lines[0][len("REPORT ") :])


def test_fit_with_two_config_files_and_arguments_the_later_wins(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "trainer:\n  max_epochs: 5\nmodel:\n  hidden: 6\n  lr: 0.5\ndata:\n  batch_size: 4\n"
    )
    (tmp_path / "b.yaml").write_text("model:\n  lr: 0.05\n")
    args = ["fit", "--config", "a.yaml", "--config", "b.yaml", "--trainer.max_epochs=2", *QUIET]
    report = report_of(run_app(tmp_path, *args))
    # b.yaml over a.yaml; the model's hyper-parameters are its parsed config
    assert report["hparams"] == {"hidden": 6, "lr": 0.05, "_instantiator": INSTANTIATOR}
    assert report["batch_size"] == 4
    assert (report["epochs"], report["max_epochs"], report["step"]) == (2, 2, 4)
    assert report["calls"] == ["before_fit", "after_fit"]
    assert set(report["metrics"]) == {"train_loss", "val_loss"}
    # The merged config lands in the logger's folder, with the seed that was used.
    saved = yaml.safe_load((Path(report["log_dir"]) / "config.yaml").read_text())
    assert saved["model"] == {"hidden": 6, "lr": 0.05}
    assert saved["trainer"]["max_epochs"] == 2 and saved["seed_everything"] == 7
    assert Path(report["log_dir"]) == tmp_path / "lightning_logs" / "version_0"


def test_the_same_command_trains_the_same_weights(tmp_path: Path) -> None:
    """--seed_everything is applied before the model is built."""
    weights = []
    for name, seed in (("first", []), ("again", []), ("other", ["--seed_everything=8"])):
        (tmp_path / name).mkdir()
        args = ["fit", "--trainer.max_epochs=1", *QUIET, *seed]
        weights.append(report_of(run_app(tmp_path / name, *args))["weight"])
    assert weights[0] == weights[1] != weights[2]


def test_print_config_prints_every_setting_and_exits(tmp_path: Path) -> None:
    result = run_app(tmp_path, "fit", "--model.hidden=3", "--print_config")
    assert "REPORT" not in result.stdout  # nothing was built or run
    assert result.stdout.startswith("# plkit==")
    config = yaml.safe_load(result.stdout)
    assert list(config) == [
        "seed_everything", "trainer", "model", "data", "optimizer", "lr_scheduler", "ckpt_path",
        "weights_only",
    ]  # fmt: skip
    assert config["model"] == {"hidden": 3, "lr": 0.1}
    assert (
        config["trainer"]["max_steps"] == -1 and config["trainer"]["enable_progress_bar"] is False
    )
    assert config["seed_everything"] == 7
    # What --print_config prints is a config file that gives the same run.
    (tmp_path / "printed.yaml").write_text(result.stdout)
    again = run_app(tmp_path, "fit", "--config", "printed.yaml", "--print_config")
    assert yaml.safe_load(again.stdout) == config


def test_help_lists_the_subcommands_and_the_classes_arguments(tmp_path: Path) -> None:
    top = run_app(tmp_path, "--help").stdout
    assert "{fit,validate,test,predict}" in top
    fit = run_app(tmp_path, "fit", "--help").stdout
    for flag in (
        "--trainer.max_epochs",
        "--model.hidden",
        "--data.batch_size",
        "--optimizer",
        "--ckpt_path",
    ):
        assert flag in fit
    assert "width of the hidden layer." in fit  # the model's docstring is the argument's help
    # profiler and plugins are typed as classes (as in Lightning): each has a --*.help flag
    assert "--trainer.profiler.help" in fit and "--trainer.plugins.help" in fit
    # the entry points' docstrings read as help text: a short line, no reStructuredText markup
    assert "Train the model (with validation as the flags schedule" in fit
    assert "``" not in top and "Run one evaluation epoch over the test data." in top


def test_a_bad_argument_names_it_and_exits_2(tmp_path: Path) -> None:
    result = run_app(tmp_path, "fit", "--model.hiden=3", check=False)
    assert result.returncode == 2 and "hiden" in result.stderr
    result = run_app(tmp_path, "fit", "--trainer.max_epochs=many", check=False)
    assert result.returncode == 2 and "max_epochs" in result.stderr


def test_optimizer_and_scheduler_from_the_command_line(tmp_path: Path) -> None:
    args = [
        "fit", "--trainer.max_epochs=2", *QUIET, "--trainer.logger=false",
        "--optimizer=Adam", "--optimizer.lr=0.01",
        "--lr_scheduler=StepLR", "--lr_scheduler.step_size=1", "--lr_scheduler.gamma=0.5",
    ]  # fmt: skip
    result = run_app(tmp_path, *args)
    report = report_of(result)
    assert report["optimizer"] == "Adam"
    assert report["lr"] == pytest.approx(0.01 * 0.5**2)  # stepped once per epoch
    assert "configure_optimizers` will be overridden by `CLI.configure_optimizers`" in result.stderr
    # Without a logger the config goes to default_root_dir (here the working folder).
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert saved["optimizer"] == {
        "class_path": "torch.optim.Adam",
        "init_args": {
            "lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-08, "weight_decay": 0.0,
            "amsgrad": False, "foreach": None, "maximize": False, "capturable": False,
            "differentiable": False, "fused": None, "decoupled_weight_decay": False,
        },
    }  # fmt: skip


def test_subclass_mode_chooses_the_model_by_class_path(tmp_path: Path) -> None:
    (tmp_path / "model.yaml").write_text(
        "model:\n  class_path: __main__.WideModel\n  init_args:\n    scale: 2.0\n"
    )
    args = ["fit", "--subclass", "--config", "model.yaml", "--model.hidden=5"]
    report = report_of(run_app(tmp_path, *args, "--trainer.max_epochs=1", *QUIET))
    assert report["model"] == "WideModel"
    assert report["hparams"] == {
        "_class_path": "__main__.WideModel", "scale": 2.0, "hidden": 5, "lr": 0.1,
        "_instantiator": INSTANTIATOR,
    }  # fmt: skip
    printed = yaml.safe_load(run_app(tmp_path, *args, "--print_config").stdout)
    assert printed["model"] == {
        "class_path": "__main__.WideModel",
        "init_args": {"scale": 2.0, "hidden": 5, "lr": 0.1},
    }


def test_a_second_run_into_the_same_folder_stops_before_overwriting_its_config(
    tmp_path: Path,
) -> None:
    # A TensorBoard logger with a fixed version: both runs write into out/lightning_logs/version_0.
    args = ["fit", "--trainer.max_epochs=1", *QUIET, "--trainer.enable_checkpointing=false"]
    args += ["--trainer.logger=TensorBoardLogger", "--trainer.logger.save_dir=out"]
    args += ["--trainer.logger.version=0"]
    run_app(tmp_path, *args)
    assert (tmp_path / "out" / "lightning_logs" / "version_0" / "config.yaml").is_file()
    result = run_app(tmp_path, *args, check=False)
    assert result.returncode == 1 and "REPORT" not in result.stdout
    assert "RuntimeError: SaveConfigCallback expected" in result.stderr
    assert 'save_config_kwargs={"overwrite": True}' in result.stderr


def test_validate_test_and_predict_subcommands(tmp_path: Path) -> None:
    for name in ("validate", "test", "predict"):
        (tmp_path / name).mkdir()
        report = report_of(run_app(tmp_path / name, name, "--data.n=16"))
        assert report["subcommand"] == name and report["step"] == 0
        assert report["calls"] == []
        saved = yaml.safe_load((Path(report["log_dir"]) / "config.yaml").read_text())
        assert saved["data"]["n"] == 16 and "ckpt_path" in saved
    assert set(report["metrics"]) == set()
    (tmp_path / "again").mkdir()
    assert set(report_of(run_app(tmp_path / "again", "test"))["metrics"]) == {"test_loss"}


def test_test_with_ckpt_path_builds_the_trained_model_and_load_from_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fit = report_of(run_app(tmp_path, "fit", "--model.hidden=6", "--trainer.max_epochs=1", *QUIET))
    ckpt = next((Path(fit["log_dir"]) / "checkpoints").glob("*.ckpt"))
    saved = torch.load(ckpt, weights_only=True)["hyper_parameters"]
    assert saved == {"hidden": 6, "lr": 0.1, "_instantiator": INSTANTIATOR}
    # The model's config comes from the checkpoint: hidden=6 although the default is 4.
    tested = report_of(run_app(tmp_path, "test", f"--ckpt_path={ckpt}"))
    assert tested["hparams"]["hidden"] == 6 and tested["weight"] == fit["weight"]
    app = _app_module(tmp_path, monkeypatch)
    loaded = app.Model.load_from_checkpoint(ckpt)
    assert dict(loaded.hparams) == {"hidden": 6, "lr": 0.1}
    assert loaded.net[0].weight.flatten().tolist() == fit["weight"]


def test_a_checkpoint_cannot_name_its_own_instantiator(tmp_path, monkeypatch) -> None:
    app = _app_module(tmp_path, monkeypatch)
    model = app.Model()
    model.hparams["_instantiator"] = "os.system"
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=1, limit_val_batches=0, logger=False)
    trainer.fit(model, datamodule=app.Data())
    trainer.save_checkpoint(tmp_path / "bad.ckpt")
    with pytest.raises(ValueError, match="'os.system' from the checkpoint is not in the allowlist"):
        app.Model.load_from_checkpoint(tmp_path / "bad.ckpt")


def test_without_jsonargparse_the_error_names_the_extra(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['jsonargparse'] = None\n"
        "import plkit\n"
        "from plkit.cli import LightningCLI, ReduceLROnPlateau\n"
        "LightningCLI(args=[])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert "ModuleNotFoundError" in result.stderr
    assert "pip install 'plkit[cli]'" in result.stderr


# -- in process: args=, run=False and the hooks a subclass overrides --------------------------


@pytest.fixture
def plain_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["app.py"])
    # An in-process CLI with seed_everything exports PL_GLOBAL_SEED / PL_SEED_WORKERS (as
    # Lightning's does); set them here so monkeypatch restores the environment afterwards:
    # a leaked PL_GLOBAL_SEED reseeds the DistributedSampler of every DDP job a later test
    # launches from this process.
    for name in ("PL_GLOBAL_SEED", "PL_SEED_WORKERS"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def _app_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "cli_app_module.py").write_text(APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    import importlib

    sys.modules.pop("cli_app_module", None)
    return importlib.import_module("cli_app_module")


def test_run_false_builds_the_classes_from_a_dict(tmp_path, monkeypatch, plain_argv) -> None:
    from plkit.cli import LightningCLI

    app = _app_module(tmp_path, monkeypatch)
    args = {"model": {"hidden": 2}, "trainer": {"max_epochs": 3, "logger": False}}
    cli = LightningCLI(app.Model, app.Data, run=False, args=args, seed_everything_default=False)
    assert cli.subcommand is None and cli.model.hparams["hidden"] == 2
    assert cli.trainer.max_epochs == 3 and cli.datamodule.batch_size == 8
    assert cli.config["seed_everything"] is False
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)  # what a user does next
    assert cli.trainer.current_epoch == 3


def test_args_list_trainer_defaults_and_parser_kwargs(tmp_path, monkeypatch, plain_argv) -> None:
    from plkit.callbacks import EarlyStopping
    from plkit.cli import LightningCLI

    app = _app_module(tmp_path, monkeypatch)
    stop = EarlyStopping(monitor="val_loss")
    cli = LightningCLI(
        app.Model,
        app.Data,
        args=["--trainer.max_epochs=1", "--seed_everything=3"],
        run=False,
        trainer_defaults={"logger": False, "max_epochs": 9, "callbacks": [stop]},
        parser_kwargs={"description": "my tool"},
        save_config_callback=None,
    )
    assert cli.trainer.max_epochs == 1 and cli.trainer.logger is None
    assert stop in cli.trainer.callbacks and cli.config["seed_everything"] == 3
    assert cli.parser.description == "my tool"


def test_link_arguments_and_add_arguments_to_parser(tmp_path, monkeypatch, plain_argv) -> None:
    from plkit.cli import LightningCLI

    app = _app_module(tmp_path, monkeypatch)
    seen = {}

    class LinkedCLI(LightningCLI):
        def add_arguments_to_parser(self, parser):
            parser.add_argument("--width", type=int, default=7)
            parser.link_arguments("width", "model.hidden")

        def before_instantiate_classes(self):
            seen["before"] = self.config["width"]

        def after_instantiate_classes(self):
            seen["after"] = self.model.hparams["hidden"]

    cli = LinkedCLI(app.Model, app.Data, run=False, args=["--width=5", "--trainer.logger=false"])
    assert seen == {"before": 5, "after": 5} and cli.model.net[0].out_features == 5


def test_reduce_lr_on_plateau_is_returned_with_its_monitor(
    tmp_path, monkeypatch, plain_argv
) -> None:
    from plkit.cli import LightningCLI, ReduceLROnPlateau

    app = _app_module(tmp_path, monkeypatch)
    args = ["--optimizer=SGD", "--optimizer.lr=0.2", "--lr_scheduler=ReduceLROnPlateau"]
    args += ["--lr_scheduler.monitor=val_loss", "--trainer.logger=false"]
    cli = LightningCLI(app.Model, app.Data, run=False, args=args)
    config = cli.model.configure_optimizers()
    assert isinstance(config["optimizer"], torch.optim.SGD)
    assert isinstance(config["lr_scheduler"]["scheduler"], ReduceLROnPlateau)
    assert config["lr_scheduler"]["monitor"] == "val_loss"
    # Without auto_configure_optimizers the model keeps its own, and --optimizer is unknown.
    cli = LightningCLI(app.Model, app.Data, run=False, args=[], auto_configure_optimizers=False)
    assert "optimizer" not in cli.config
    assert isinstance(cli.model.configure_optimizers(), torch.optim.SGD)


def test_add_optimizer_args_with_a_fixed_class(tmp_path, monkeypatch, plain_argv) -> None:
    from plkit.cli import LightningCLI

    app = _app_module(tmp_path, monkeypatch)

    class AdamCLI(LightningCLI):
        def add_arguments_to_parser(self, parser):
            parser.add_optimizer_args(torch.optim.Adam)
            parser.add_lr_scheduler_args(torch.optim.lr_scheduler.ExponentialLR)

    cli = AdamCLI(
        app.Model, app.Data, run=False, args=["--optimizer.lr=0.3", "--lr_scheduler.gamma=0.9"]
    )
    optimizers, schedulers = cli.model.configure_optimizers()
    assert isinstance(optimizers[0], torch.optim.Adam) and optimizers[0].defaults["lr"] == 0.3
    assert isinstance(schedulers[0], torch.optim.lr_scheduler.ExponentialLR)
    with pytest.raises(TypeError, match="subclasses of torch.optim.optimizer.Optimizer"):
        cli.parser.add_optimizer_args(torch.nn.Linear)


def test_save_config_to_log_dir_false_needs_a_save_config_override() -> None:
    from plkit.cli import LightningArgumentParser, SaveConfigCallback

    with pytest.raises(ValueError, match="save_to_log_dir=False"):
        SaveConfigCallback(LightningArgumentParser(), None, save_to_log_dir=False)

    class Elsewhere(SaveConfigCallback):
        def save_config(self, trainer, pl_module, stage):
            pass

    Elsewhere(LightningArgumentParser(), None, save_to_log_dir=False)


def test_default_env_instantiate_classes_override_and_a_trainer_function(
    tmp_path, monkeypatch, plain_argv
) -> None:
    from plkit.cli import LightningCLI

    app = _app_module(tmp_path, monkeypatch)
    monkeypatch.setenv("PL_TRAINER__MAX_EPOCHS", "4")
    monkeypatch.setenv("PL_MODEL__HIDDEN", "3")

    def make_trainer(max_epochs: int = 1, callbacks: list[pl.Callback] | None = None) -> pl.Trainer:
        """A Trainer without a logger.

        Args:
            max_epochs: epochs to train.
            callbacks: callbacks.
        """
        return pl.Trainer(max_epochs=max_epochs, callbacks=callbacks, logger=False)

    class Built(LightningCLI):
        def instantiate_classes(self) -> None:
            super().instantiate_classes()
            self.built = (type(self.model).__name__, type(self.trainer).__name__)

    cli = Built(
        app.Model,
        app.Data,
        trainer_class=make_trainer,
        run=False,
        args=[],
        parser_kwargs={"default_env": True},
    )
    assert cli.built == ("Model", "Trainer")
    assert cli.trainer.max_epochs == 4 and cli.model.hparams["hidden"] == 3
    assert any(type(cb).__name__ == "SaveConfigCallback" for cb in cli.trainer.callbacks)


# -- profilers, today's callbacks and loggers, durations ---------------------------------------


def test_profiler_callbacks_and_logger_by_class_name(tmp_path, monkeypatch, plain_argv) -> None:
    from plkit.cli import LightningCLI
    from plkit.profilers import SimpleProfiler

    app = _app_module(tmp_path, monkeypatch)
    args = {
        "trainer": {
            "profiler": "SimpleProfiler",
            "callbacks": [
                {"class_path": "StochasticWeightAveraging", "init_args": {"swa_lrs": 0.01}},
                {"class_path": "LearningRateMonitor"},
            ],
            "logger": {"class_path": "CSVLogger", "init_args": {"save_dir": "logs"}},
        }
    }
    cli = LightningCLI(app.Model, app.Data, run=False, args=args)
    assert type(cli.trainer.profiler) is SimpleProfiler
    kinds = [type(cb).__name__ for cb in cli.trainer.callbacks]
    assert kinds[:2] == ["StochasticWeightAveraging", "LearningRateMonitor"]
    assert (
        type(cli.trainer.logger).__name__ == "CSVLogger" and cli.trainer.logger.save_dir == "logs"
    )
    # the printed config spells each class out with its defaults, as Lightning prints it
    printed = cli.parser.dump(cli.config, skip_none=False)
    config = yaml.safe_load(printed)["trainer"]
    assert config["profiler"] == {
        "class_path": "plkit.profilers.SimpleProfiler",
        "init_args": {"dirpath": None, "filename": None, "extended": True},
    }
    assert config["callbacks"][0]["init_args"]["annealing_strategy"] == "cos"


def test_profiler_help_lists_its_arguments(tmp_path, monkeypatch, plain_argv, capsys) -> None:
    from plkit.cli import LightningCLI

    app = _app_module(tmp_path, monkeypatch)
    with pytest.raises(SystemExit) as exit_info:
        LightningCLI(
            app.Model, app.Data, run=False, args=["--trainer.profiler.help=SimpleProfiler"]
        )
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--trainer.profiler.dirpath", "--trainer.profiler.extended {true,false}"):
        assert flag in out


@pytest.mark.parametrize("max_time", ["00:00:00:00", '{"seconds": 0}'])
def test_max_time_as_a_string_or_a_dict(tmp_path, monkeypatch, plain_argv, max_time: str) -> None:
    from plkit.cli import LightningCLI

    app = _app_module(tmp_path, monkeypatch)
    args = [f"--trainer.max_time={max_time}", "--trainer.max_epochs=3", "--trainer.logger=false"]
    cli = LightningCLI(app.Model, app.Data, run=False, args=args)
    assert cli.config["trainer"]["max_time"] == (
        max_time if max_time.startswith("0") else {"seconds": 0}
    )
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert cli.trainer.global_step == 0  # the time was up when fit started


def test_val_check_interval_as_a_duration(tmp_path, monkeypatch, plain_argv) -> None:
    from datetime import timedelta

    from plkit.cli import LightningCLI

    app = _app_module(tmp_path, monkeypatch)
    args = ['--trainer.val_check_interval={"seconds": 0}', "--trainer.max_epochs=1"]
    args += ["--trainer.logger=false", "--trainer.callbacks=ModelCheckpoint"]
    args += ["--trainer.callbacks.dirpath=ckpts", "--trainer.callbacks.save_top_k=-1"]
    cli = LightningCLI(app.Model, app.Data, run=False, args=args)
    assert cli.trainer.val_check_interval == timedelta(0)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    # a zero interval has always elapsed: validation (and a checkpoint) after every batch
    saved = sorted(path.name for path in (tmp_path / "ckpts").iterdir())
    assert saved == [f"epoch=0-step={step}.ckpt" for step in (1, 2, 3, 4)]
