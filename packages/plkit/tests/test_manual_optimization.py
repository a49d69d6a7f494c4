"""Manual optimization (``automatic_optimization = False``) against hand-written PyTorch loops.

The user drives everything from ``training_step``: ``self.optimizers()`` hands out
LightningOptimizers (instances of the user's optimizer class whose ``step`` fires
``on_before_optimizer_step`` and counts ``global_step``), ``self.manual_backward`` runs the
backward hooks, ``self.lr_schedulers()`` the schedulers, which the Trainer then never steps itself
(Lightning 2.x). Data: 14 fixed samples in unshuffled batches of 3 (5 batches per epoch).

Run: ``python -m pytest packages/plkit/tests/test_manual_optimization.py -q``
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plcore.optimizer import LightningOptimizer

EPOCHS = 2
BATCHES_PER_EPOCH = 5


def _loader() -> DataLoader:
    g = torch.Generator().manual_seed(3)
    real = torch.randn(14, 4, generator=g) + 2.0
    noise = torch.randn(14, 2, generator=g)
    return DataLoader(TensorDataset(real, noise), batch_size=3, shuffle=False)


def _generator() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 4))


def _discriminator() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))


def _fit(model: pl.LightningModule, **flags: Any) -> pl.Trainer:
    flags = {"max_epochs": EPOCHS, **flags}
    trainer = pl.Trainer(
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        **flags,
    )
    trainer.fit(model, _loader())
    return trainer


def _assert_same(a: nn.Module, b: nn.Module) -> None:
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(pa.detach(), pb.detach(), rtol=0, atol=1e-6, msg=name)


def _regression_loss(net: nn.Module, batch: Any) -> torch.Tensor:
    real, noise = batch
    return F.mse_loss(net(real), noise[:, :1])


class _Regressor(pl.LightningModule):
    """One network, one optimizer; subclasses write training_step."""

    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.net = _discriminator()
        self.outputs: list[Any] = []

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.net.parameters(), lr=0.05, momentum=0.9)


# --------------------------------------------------------------------------------------------
# GAN: two optimizers, two losses, toggling
# --------------------------------------------------------------------------------------------


def _g_loss(gen: nn.Module, disc: nn.Module, noise: torch.Tensor) -> torch.Tensor:
    logits = disc(gen(noise))
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def _d_loss(
    gen: nn.Module, disc: nn.Module, real: torch.Tensor, noise: torch.Tensor
) -> torch.Tensor:
    real_logits, fake_logits = disc(real), disc(gen(noise).detach())
    real_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake_loss = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return (real_loss + fake_loss) / 2


def _gan_optimizers(gen: nn.Module, disc: nn.Module) -> list[torch.optim.Optimizer]:
    return [
        torch.optim.Adam(gen.parameters(), lr=0.01, betas=(0.5, 0.999)),
        torch.optim.SGD(disc.parameters(), lr=0.05),
    ]


class _GAN(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.generator = _generator()
        self.discriminator = _discriminator()
        self.counts = {
            "on_before_optimizer_step": 0,
            "on_before_backward": 0,
            "on_after_backward": 0,
            "on_before_zero_grad": 0,
        }
        self.frozen_during_g_step: list[bool] = []

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        real, noise = batch
        opt_g, opt_d = self.optimizers()

        self.toggle_optimizer(opt_g)
        self.frozen_during_g_step.append(
            not any(p.requires_grad for p in self.discriminator.parameters())
        )
        g_loss = _g_loss(self.generator, self.discriminator, noise)
        opt_g.zero_grad()
        self.manual_backward(g_loss)
        opt_g.step()
        self.untoggle_optimizer(opt_g)

        self.toggle_optimizer(opt_d)
        d_loss = _d_loss(self.generator, self.discriminator, real, noise)
        opt_d.zero_grad()
        self.manual_backward(d_loss)
        opt_d.step()
        self.untoggle_optimizer(opt_d)

    def configure_optimizers(self) -> Any:
        return _gan_optimizers(self.generator, self.discriminator)

    def on_before_optimizer_step(self, optimizer: Any) -> None:
        self.counts["on_before_optimizer_step"] += 1

    def on_before_backward(self, loss: torch.Tensor) -> None:
        self.counts["on_before_backward"] += 1

    def on_after_backward(self) -> None:
        self.counts["on_after_backward"] += 1

    def on_before_zero_grad(self, optimizer: Any) -> None:
        self.counts["on_before_zero_grad"] += 1


def _reference_gan() -> tuple[nn.Module, nn.Module]:
    gen, disc = _generator(), _discriminator()
    opt_g, opt_d = _gan_optimizers(gen, disc)
    for _ in range(EPOCHS):
        for real, noise in _loader():
            disc.requires_grad_(False)
            opt_g.zero_grad()
            _g_loss(gen, disc, noise).backward()
            opt_g.step()
            disc.requires_grad_(True)

            gen.requires_grad_(False)
            opt_d.zero_grad()
            _d_loss(gen, disc, real, noise).backward()
            opt_d.step()
            gen.requires_grad_(True)
    return gen, disc


def test_gan_with_two_optimizers_matches_plain_loop() -> None:
    model = _GAN()
    trainer = _fit(model)
    gen, disc = _reference_gan()
    _assert_same(model.generator, gen)
    _assert_same(model.discriminator, disc)
    batches = EPOCHS * BATCHES_PER_EPOCH
    assert trainer.global_step == 2 * batches  # every opt.step() counts
    assert model.counts == {
        "on_before_optimizer_step": 2 * batches,
        "on_before_backward": 2 * batches,
        "on_after_backward": 2 * batches,
        "on_before_zero_grad": 0,
    }
    assert all(model.frozen_during_g_step)
    assert all(p.requires_grad for p in model.parameters())  # untoggle restored everything


# --------------------------------------------------------------------------------------------
# what self.optimizers() / self.lr_schedulers() hand out
# --------------------------------------------------------------------------------------------


def test_optimizers_are_lightning_optimizers_of_the_user_class() -> None:
    seen: dict[str, Any] = {}

    class Module(_GAN):
        def training_step(self, batch: Any, batch_idx: int) -> Any:
            if batch_idx == 0:
                seen["wrapped"] = self.optimizers()
                seen["raw"] = self.optimizers(use_pl_optimizer=False)
                seen["schedulers"] = self.lr_schedulers()
            return super().training_step(batch, batch_idx)

    trainer = _fit(Module(), max_epochs=1)
    opt_g, opt_d = seen["wrapped"]
    assert isinstance(opt_g, torch.optim.Adam) and isinstance(opt_g, LightningOptimizer)
    assert isinstance(opt_d, torch.optim.SGD) and isinstance(opt_d, LightningOptimizer)
    assert seen["raw"] == trainer.optimizers
    assert opt_g.optimizer is trainer.optimizers[0]
    assert opt_g.param_groups is trainer.optimizers[0].param_groups
    assert opt_g.state is trainer.optimizers[0].state
    assert seen["schedulers"] is None


# until the scheduler bug below is fixed, the Trainer steps these schedulers and torch warns
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`")
def test_lr_schedulers_returns_one_or_a_list() -> None:
    seen: list[Any] = []

    class Module(_Regressor):
        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

        def training_step(self, batch: Any, batch_idx: int) -> None:
            seen.append((self.optimizers(), self.lr_schedulers()))

        def configure_optimizers(self) -> Any:
            opt = super().configure_optimizers()
            scheds = [torch.optim.lr_scheduler.StepLR(opt, 1) for _ in range(self.count)]
            return [opt], scheds

    trainer = _fit(Module(1), max_epochs=1, limit_train_batches=1)
    opt, sched = seen[-1]
    assert isinstance(opt, LightningOptimizer)  # one optimizer: the object, not a list
    assert sched is trainer.lr_scheduler_configs[0].scheduler
    trainer = _fit(Module(2), max_epochs=1, limit_train_batches=1)
    assert seen[-1][1] == [c.scheduler for c in trainer.lr_scheduler_configs]
    assert len(seen[-1][1]) == 2


def test_optimizer_step_with_a_closure_runs_it_lbfgs() -> None:
    def lbfgs(params: Any) -> torch.optim.Optimizer:
        return torch.optim.LBFGS(params, lr=0.5, max_iter=3)

    class Module(_Regressor):
        def training_step(self, batch: Any, batch_idx: int) -> None:
            opt = self.optimizers()

            def closure() -> torch.Tensor:
                loss = _regression_loss(self.net, batch)
                opt.zero_grad()
                self.manual_backward(loss)
                return loss

            opt.step(closure=closure)

        def configure_optimizers(self) -> Any:
            return lbfgs(self.net.parameters())

    model = Module()
    trainer = _fit(model)
    net = _discriminator()
    opt = lbfgs(net.parameters())
    for _ in range(EPOCHS):
        for batch in _loader():

            def closure(batch: Any = batch) -> torch.Tensor:
                opt.zero_grad()
                loss = _regression_loss(net, batch)
                loss.backward()
                return loss

            opt.step(closure)
    _assert_same(model.net, net)
    assert trainer.global_step == EPOCHS * BATCHES_PER_EPOCH


def test_user_side_accumulation_matches_plain_loop() -> None:
    k = 2

    class Module(_Regressor):
        def training_step(self, batch: Any, batch_idx: int) -> None:
            # Lightning's documented pattern
            opt = self.optimizers()
            self.manual_backward(_regression_loss(self.net, batch) / k)
            if (batch_idx + 1) % k == 0:
                opt.step()
                opt.zero_grad()

    model = Module()
    trainer = _fit(model)
    net = _discriminator()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    for _ in range(EPOCHS):
        for batch_idx, batch in enumerate(_loader()):
            (_regression_loss(net, batch) / k).backward()
            if (batch_idx + 1) % k == 0:
                opt.step()
                opt.zero_grad()
    _assert_same(model.net, net)
    assert trainer.global_step == EPOCHS * (BATCHES_PER_EPOCH // k)


def test_toggle_optimizer_keeps_parameters_frozen_by_the_user() -> None:
    model = _GAN()
    opt_g, opt_d = _gan_optimizers(model.generator, model.discriminator)
    model.generator[0].bias.requires_grad_(False)
    model.toggle_optimizer(opt_d)
    assert not any(p.requires_grad for p in model.generator.parameters())
    assert all(p.requires_grad for p in model.discriminator.parameters())
    model.untoggle_optimizer(opt_d)
    assert not model.generator[0].bias.requires_grad  # the user's choice survives
    assert model.generator[0].weight.requires_grad


# --------------------------------------------------------------------------------------------
# Lightning 2.x behaviour that plkit first lacked (each test was a strict xfail until fixed)
# --------------------------------------------------------------------------------------------

_BUG_SCHEDULERS = (
    "BUG: plkit/loops/training.py run_training_epoch calls _step_schedulers in manual "
    "optimization too; Lightning 2.x never steps schedulers itself there (the user calls "
    "sch.step()), so the LR is stepped twice"
)


def test_schedulers_are_stepped_only_by_the_user() -> None:
    class Module(_Regressor):
        def training_step(self, batch: Any, batch_idx: int) -> None:
            opt, sch = self.optimizers(), self.lr_schedulers()
            opt.zero_grad()
            self.manual_backward(_regression_loss(self.net, batch))
            opt.step()
            if (batch_idx + 1) % 2 == 0:
                sch.step()

        def configure_optimizers(self) -> Any:
            opt = super().configure_optimizers()
            return [opt], [torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)]

    model = Module()
    trainer = _fit(model)
    net = _discriminator()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    sch = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(EPOCHS):
        for batch_idx, batch in enumerate(_loader()):
            opt.zero_grad()
            _regression_loss(net, batch).backward()
            opt.step()
            if (batch_idx + 1) % 2 == 0:
                sch.step()
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(opt.param_groups[0]["lr"])
    _assert_same(model.net, net)


def test_plateau_without_monitor_is_accepted_in_manual_optimization() -> None:
    class Module(_Regressor):
        def training_step(self, batch: Any, batch_idx: int) -> None:
            opt = self.optimizers()
            opt.zero_grad()
            self.manual_backward(_regression_loss(self.net, batch))
            opt.step()

        def on_train_epoch_end(self) -> None:
            self.lr_schedulers().step(1.0)  # never improves after the first call

        def configure_optimizers(self) -> Any:
            opt = super().configure_optimizers()
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
            return {"optimizer": opt, "lr_scheduler": sched}

    trainer = _fit(Module(), max_epochs=3)
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.05 * 0.5**2)


@pytest.mark.parametrize(
    ("flags", "match"),
    [({"accumulate_grad_batches": 2}, "accumulat"), ({"gradient_clip_val": 1.0}, "clip")],
)
def test_automatic_accumulation_and_clipping_flags_are_rejected(flags: dict, match: str) -> None:
    calls: list[int] = []

    class Module(_Regressor):
        def training_step(self, batch: Any, batch_idx: int) -> None:
            calls.append(batch_idx)

    with pytest.raises((ValueError, TypeError, RuntimeError), match=rf"(?i){match}.*manual"):
        _fit(Module(), **flags)
    assert calls == []


@pytest.mark.parametrize("kind", ["tensor", "dict_without_loss", "none"])
def test_training_step_outputs_reach_on_train_batch_end_as_a_dict(kind: str) -> None:
    class Module(_Regressor):
        def training_step(self, batch: Any, batch_idx: int) -> Any:
            opt = self.optimizers()
            loss = _regression_loss(self.net, batch)
            opt.zero_grad()
            self.manual_backward(loss)
            opt.step()
            return {"tensor": loss, "dict_without_loss": {"g": 1.5}, "none": None}[kind]

        def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
            self.outputs.append(outputs)

    model = Module()
    _fit(model, max_epochs=1)
    first = model.outputs[0]
    assert isinstance(first, dict)
    if kind == "tensor":
        assert set(first) == {"loss"} and first["loss"].grad_fn is None
    else:
        assert first == {"dict_without_loss": {"g": 1.5}, "none": {}}[kind]


def test_is_last_batch_lets_user_side_accumulation_step_the_short_window() -> None:
    flags: list[bool] = []

    class Module(_Regressor):
        def training_step(self, batch: Any, batch_idx: int) -> None:
            flags.append(self.trainer.is_last_batch)

    _fit(Module(), max_epochs=1)
    assert flags == [False] * (BATCHES_PER_EPOCH - 1) + [True]


def test_lightning_optimizer_follows_the_optimizer_after_load_state_dict() -> None:
    param = nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([param], lr=0.1)
    wrapped = LightningOptimizer(opt)
    wrapped.load_state_dict(opt.state_dict())
    wrapped.param_groups[0]["lr"] = 0.5
    assert opt.param_groups[0]["lr"] == 0.5
    assert wrapped.state is opt.state
