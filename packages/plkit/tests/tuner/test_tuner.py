"""The Tuner end to end on CPU: the search results, the attribute set, the state restored."""

from __future__ import annotations

import os
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plkit.callbacks import BatchSizeFinder, LearningRateFinder
from plkit.tuner import Tuner
from plkit.utilities.exceptions import MisconfigurationException
from plkit.utilities.memory import is_oom_error


def _data(n: int = 64) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    return TensorDataset(x, x.sum(1, keepdim=True))


class Net(pl.LightningModule):
    def __init__(self, lr: float = 0.01, batch_size: int = 4, fits: int = 10**9, n: int = 64):
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(4, 1)
        self.tried: list[int] = []

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        self.tried.append(len(batch[0]))
        if len(batch[0]) > self.hparams.fits:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1 GiB")
        return torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1])

    def configure_optimizers(self) -> Any:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(_data(self.hparams.n), batch_size=self.hparams.batch_size)


def _trainer(tmp_path: Any, **kwargs: Any) -> pl.Trainer:
    options: dict[str, Any] = dict(
        max_epochs=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
    )
    options.update(kwargs)
    return pl.Trainer(**options)


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_lr_find_restores_state_and_sets_lr(tmp_path: Any) -> None:
    torch.manual_seed(0)
    model = Net()
    before = _weights(model)
    trainer = _trainer(tmp_path)
    finder = Tuner(trainer).lr_find(model, num_training=30)
    assert finder is not None
    lrs, losses = finder.results["lr"], finder.results["loss"]
    assert len(lrs) == len(losses) > 10
    # exponential schedule from min_lr (the second value is two steps along, as in Lightning)
    assert lrs[0] == pytest.approx(1e-8)
    assert lrs[1] == pytest.approx(1e-8 * (1 / 1e-8) ** (2 / 30))
    assert model.hparams.lr == finder.suggestion() and model.hparams.lr != 0.01
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    assert trainer.global_step == 0 and trainer.current_epoch == 0
    assert not any(isinstance(cb, LearningRateFinder) for cb in trainer.callbacks)
    assert os.listdir(tmp_path) == []  # the .lr_find_<uuid>.ckpt is gone
    trainer.fit(model)  # the suggestion trains
    assert trainer.optimizers[0].param_groups[0]["lr"] == finder.suggestion()


def test_lr_finder_callback_keeps_optimizer_state(tmp_path: Any) -> None:
    torch.manual_seed(0)
    model = Net()
    seen: dict[str, Any] = {}

    class Probe(pl.Callback):
        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            seen["state"] = dict(trainer.optimizers[0].state)
            seen["step"] = trainer.global_step

    finder = LearningRateFinder(num_training_steps=15, mode="linear")
    trainer = _trainer(tmp_path, callbacks=[finder, Probe()], max_epochs=1)
    trainer.fit(model)
    assert seen == {"state": {}, "step": 0}  # the search's Adam moments were dropped
    assert finder.optimal_lr is not None and len(finder.optimal_lr.results["lr"]) == 15
    assert trainer.global_step == 16  # then the real fit ran its epoch


def test_suggestion_needs_points() -> None:
    from plkit.tuner.lr_finder import _LRFinder

    finder = _LRFinder("exponential", 1e-5, 1, 5)
    finder.results = {"lr": [1e-5, 1e-4], "loss": [1.0, 0.5]}
    assert finder.suggestion() is None


def test_plot_draws(tmp_path: Any) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    model = Net()
    finder = Tuner(_trainer(tmp_path)).lr_find(model, num_training=20, update_attr=False)
    assert finder is not None
    fig = finder.plot(suggest=True)
    assert fig.axes[0].get_xscale() == "log"
    assert model.hparams.lr == 0.01  # update_attr=False leaves it


@pytest.mark.parametrize(
    ("mode", "fits", "expected"), [("power", 20, 16), ("binsearch", 20, 19), ("binsearch", 37, 35)]
)
def test_scale_batch_size_finds_the_largest(
    tmp_path: Any, mode: str, fits: int, expected: int
) -> None:
    model = Net(fits=fits, n=512)
    before = _weights(model)
    trainer = _trainer(tmp_path)
    found = Tuner(trainer).scale_batch_size(model, mode=mode)
    assert found == expected == model.hparams.batch_size
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert trainer.global_step == 0 and os.listdir(tmp_path) == []
    assert fits + 1 in model.tried or mode == "power"  # it did run out of memory


def test_batch_size_stops_at_the_dataset_length(tmp_path: Any) -> None:
    model = Net(n=10)
    assert Tuner(_trainer(tmp_path)).scale_batch_size(model) == 16
    assert model.hparams.batch_size == 16  # 8 succeeded, 16 >= 10 samples: stop


def test_scale_batch_size_errors(tmp_path: Any) -> None:
    with pytest.raises(MisconfigurationException, match="Field bs not found"):
        Tuner(_trainer(tmp_path)).scale_batch_size(Net(), batch_arg_name="bs")
    with pytest.raises(ValueError, match="method 'tune' is invalid"):
        Tuner(_trainer(tmp_path)).scale_batch_size(Net(), method="tune")  # type: ignore[arg-type]
    with pytest.raises(MisconfigurationException, match="only valid configuration"):
        Tuner(_trainer(tmp_path)).lr_find(Net(), method="test")
    loader = DataLoader(_data(), batch_size=4)
    with pytest.raises(MisconfigurationException, match="passed directly"):
        Tuner(_trainer(tmp_path)).scale_batch_size(Net(), train_dataloaders=loader)


def test_batch_size_finder_callback_then_fit(tmp_path: Any) -> None:
    model = Net(fits=20, n=128)
    finder = BatchSizeFinder(mode="power", steps_per_trial=1)
    trainer = _trainer(tmp_path, callbacks=[finder], max_epochs=1)
    trainer.fit(model)
    assert finder.optimal_batch_size == 16
    assert trainer.num_training_batches == 128 // 16  # the fit ran at the found size


def test_is_oom_error() -> None:
    assert is_oom_error(torch.cuda.OutOfMemoryError("CUDA out of memory. x"))
    assert is_oom_error(RuntimeError("CUDA error: out of memory"))
    assert is_oom_error(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried"))
    assert not is_oom_error(torch.cuda.OutOfMemoryError("no message match"))
    assert not is_oom_error(ValueError("CUDA out of memory"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_scale_batch_size_on_real_cuda_memory(tmp_path: Any) -> None:
    """Each sample holds a sixth of the GPU's memory: 2 and 4 samples fit, 8 cannot."""
    per_sample = torch.cuda.get_device_properties(0).total_memory // 6

    class Hungry(Net):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            self.tried.append(len(batch[0]))
            hog = torch.empty(len(batch[0]) * per_sample, dtype=torch.uint8, device=self.device)
            del hog
            return super().training_step(batch, batch_idx)

    model = Hungry(n=256)
    before = _weights(model)
    trainer = _trainer(tmp_path, accelerator="gpu", devices=1)
    found = Tuner(trainer).scale_batch_size(model, steps_per_trial=1)
    assert found == 4 == model.hparams.batch_size
    assert 8 in model.tried  # it really ran out of memory there
    assert all(torch.equal(v.cpu(), before[k].cpu()) for k, v in model.state_dict().items())
    assert os.listdir(tmp_path) == []


class EvalNet(Net):
    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.tried.append(len(batch[0]))
        if len(batch[0]) > self.hparams.fits:
            raise RuntimeError("CUDA out of memory. Tried to allocate 1 GiB")
        self.log("test_loss", torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1]))

    def test_dataloader(self) -> DataLoader:
        return self.train_dataloader()


def test_scale_batch_size_for_test(tmp_path: Any) -> None:
    model = EvalNet(fits=21, n=200)
    found = Tuner(_trainer(tmp_path)).scale_batch_size(model, method="test", mode="binsearch")
    # the first trial already runs at init_val (evaluation asks for its loaders each time)
    assert model.tried[:3] == [2, 2, 2]
    assert found == 19 == model.hparams.batch_size  # 21, less the 5% margin


def test_batch_size_finder_in_test_goes_on_at_the_found_size(tmp_path: Any) -> None:
    model = EvalNet(fits=21, n=200)
    finder = BatchSizeFinder()
    trainer = _trainer(tmp_path, callbacks=[finder], limit_test_batches=2)
    results = trainer.test(model, verbose=False)
    assert finder.optimal_batch_size == 16
    assert model.tried[-2:] == [16, 16]  # the test itself, at the size found
    x, y = _data(200).tensors
    expected = (
        sum(
            torch.nn.functional.mse_loss(model.layer(x[i : i + 16]), y[i : i + 16]).item()
            for i in (0, 16)
        )
        / 2
    )
    assert results[0]["test_loss"] == pytest.approx(expected, rel=1e-5)  # no trial values mixed in


def test_several_test_loaders_are_refused(tmp_path: Any) -> None:
    loaders = [DataLoader(_data(), batch_size=4)] * 2
    with pytest.raises(MisconfigurationException, match="multiple test dataloaders"):
        Tuner(_trainer(tmp_path)).scale_batch_size(EvalNet(), dataloaders=loaders, method="test")


def test_plot_without_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from plkit.tuner.lr_finder import _LRFinder

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    finder = _LRFinder("exponential", 1e-5, 1, 5)
    finder.results = {"lr": [1e-5], "loss": [1.0]}
    with pytest.raises(MisconfigurationException, match=r"plkit\[tuner\]"):
        finder.plot()


def test_fast_dev_run_skips_the_search(tmp_path: Any) -> None:
    model = Net()
    trainer = _trainer(tmp_path, fast_dev_run=True)
    with pytest.warns(UserWarning, match="Skipping learning rate finder"):
        assert Tuner(trainer).lr_find(model) is None
    with pytest.warns(UserWarning, match="Skipping batch size scaler"):
        assert Tuner(trainer).scale_batch_size(model) is None
    assert model.hparams.lr == 0.01 and model.hparams.batch_size == 4


def test_lr_find_needs_one_optimizer_and_an_attribute(tmp_path: Any) -> None:
    class NoLr(Net):
        def __init__(self) -> None:
            super().__init__()
            del self.hparams["lr"]

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    with pytest.raises(AttributeError, match="should have one of these fields"):
        Tuner(_trainer(tmp_path)).lr_find(NoLr())
    finder = Tuner(_trainer(tmp_path)).lr_find(NoLr(), update_attr=False, num_training=5)
    assert finder is not None and len(finder.results["lr"]) == 5
    assert os.listdir(tmp_path) == []


class Counter(pl.Callback):
    """A stateful callback: its state must come back from the finder's checkpoint."""

    def __init__(self) -> None:
        self.batches = 0
        self.loaded: list[dict[str, int]] = []

    def on_train_batch_end(self, *args: Any) -> None:
        self.batches += 1

    def state_dict(self) -> dict[str, int]:
        return {"batches": self.batches}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.loaded.append(dict(state))
        self.batches = state["batches"]


def _snapshot(trainer: pl.Trainer, model: Net) -> dict[str, Any]:
    opt = trainer.optimizers[0]
    return {
        "weights": _weights(model),
        "opt_state": {k: {n: t.clone() for n, t in v.items()} for k, v in opt.state.items()},
        "opt_lr": [g["lr"] for g in opt.param_groups],
        "step": trainer.global_step,
        "epoch": trainer.current_epoch,
        "plan": trainer._plan,
        "callbacks": list(trainer.callbacks),
        "loggers": list(trainer.loggers),
        "num_training_batches": trainer.num_training_batches,
    }


def test_a_finder_mid_fit_restores_everything(tmp_path: Any) -> None:
    """The milestone pattern of Lightning's docs: a search at the start of epoch 1, after the
    optimizer has state; everything the fit had comes back, and the fit goes on."""
    seen: dict[str, Any] = {}

    class MidFit(LearningRateFinder):
        def on_fit_start(self, *args: Any) -> None:
            return

        def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
            if trainer.current_epoch == 1:
                seen["before"] = _snapshot(trainer, pl_module)
                self.lr_find(trainer, pl_module)
                seen["after"] = _snapshot(trainer, pl_module)

    torch.manual_seed(0)
    model = Net()
    counter = Counter()
    finder = MidFit(num_training_steps=5, update_attr=False)
    trainer = _trainer(tmp_path, callbacks=[finder, counter], max_epochs=2)
    trainer.fit(model)
    before, after = seen["before"], seen["after"]
    assert before["opt_state"]  # Adam had moments to lose
    for key in ("step", "epoch", "plan", "callbacks", "loggers", "opt_lr"):
        assert after[key] == before[key], key
    for name, value in before["weights"].items():
        assert torch.equal(after["weights"][name], value)
    for param, state in before["opt_state"].items():
        for name, value in state.items():
            assert torch.equal(after["opt_state"][param][name], value)
    assert counter.loaded == [{"batches": 16}]  # 16 batches of epoch 0, reloaded as they were
    assert counter.batches == 32  # and the fit went on counting epoch 1
    assert finder.optimal_lr is not None and len(finder.optimal_lr.results["lr"]) >= 1
    assert trainer.global_step == 32 and os.listdir(tmp_path) == []
