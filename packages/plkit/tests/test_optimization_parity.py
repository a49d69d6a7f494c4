"""Automatic optimization: plkit.Trainer ends with the same weights as a plain PyTorch loop.

Every parity case fits a tiny, deterministically initialised network for three epochs on a fixed
14-sample dataset in unshuffled batches of 3, i.e. 5 batches per epoch (3, 3, 3, 3, 2), so that
accumulation windows of 2 and 3 end short. ``_reference`` does the same by hand, following
Lightning 2.x's rules:

- zero the gradients on a window's first batch (``batch_idx % k == 0``), step on its last batch or
  on the epoch's last batch, and scale the loss by ``1 / k``;
- on_before_optimizer_step, then clipping, then the step;
- "step" schedulers after an optimizer step when ``(batch_idx + 1) % frequency == 0`` (batch_idx
  counts within the epoch), "epoch" schedulers after the last batch when
  ``(epoch + 1) % frequency == 0``;
- ReduceLROnPlateau on its monitor: "epoch" after the epoch's validation, "step" after each
  optimizer step (on the value logged that step).

Run: ``python -m pytest packages/plkit/tests/test_optimization_parity.py -q``
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl

EPOCHS = 3
BATCHES_PER_EPOCH = 5
LR = 0.1

# --------------------------------------------------------------------------------------------
# the model, the data and the hand-written loop
# --------------------------------------------------------------------------------------------


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))


def _train_loader() -> DataLoader:
    g = torch.Generator().manual_seed(1)
    data = TensorDataset(torch.randn(14, 4, generator=g), 3 * torch.randn(14, 1, generator=g))
    return DataLoader(data, batch_size=3, shuffle=False)


def _val_loader() -> DataLoader:
    g = torch.Generator().manual_seed(2)
    data = TensorDataset(torch.randn(6, 4, generator=g), 3 * torch.randn(6, 1, generator=g))
    return DataLoader(data, batch_size=6, shuffle=False)


def _sgd(params: Any) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=LR, momentum=0.9)


def _adam(params: Any) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=0.05)


def _step_lr(opt: torch.optim.Optimizer) -> Any:
    return torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.8)


def _plateau(opt: torch.optim.Optimizer) -> Any:
    # patience 0 and a high threshold: the LR halves on most calls, so a missed or extra call shows
    return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0, threshold=0.5)


def _reference(
    make_opt: Callable[[Any], torch.optim.Optimizer] = _sgd,
    *,
    accumulate: int = 1,
    scheduler: tuple[Callable[[Any], Any], str, int] | None = None,
    clip: tuple[str, float] | None = None,
    backward: Callable[[torch.Tensor], None] = torch.Tensor.backward,
    before_step: Callable[[torch.optim.Optimizer, int], None] | None = None,
    skip_batch: int | None = None,
) -> tuple[nn.Module, torch.optim.Optimizer, int]:
    """A plain loop; ``scheduler`` is (make, interval, frequency). Returns net, optimizer, steps."""
    net, loader = _net(), _train_loader()
    opt = make_opt(net.parameters())
    sched = scheduler[0](opt) if scheduler else None
    interval, frequency = (scheduler[1], scheduler[2]) if scheduler else ("", 1)
    plateau = isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau)
    steps = 0
    for epoch in range(EPOCHS):
        for batch_idx, (x, y) in enumerate(loader):
            if batch_idx % accumulate == 0:
                opt.zero_grad()
            raw = F.mse_loss(net(x), y)
            if batch_idx != skip_batch:
                backward(raw / accumulate)
            if (batch_idx + 1) % accumulate and batch_idx != len(loader) - 1:
                continue
            if clip is not None:
                _clip(net, *clip)
            if before_step is not None:
                before_step(opt, steps)
            opt.step()
            steps += 1
            if sched is not None and interval == "step" and (batch_idx + 1) % frequency == 0:
                _step_scheduler(sched, raw.detach())  # plateau: the loss logged this step
        if sched is not None and interval == "epoch" and (epoch + 1) % frequency == 0:
            _step_scheduler(sched, _val_loss(net) if plateau else None)
    return net, opt, steps


def _step_scheduler(sched: Any, metric: torch.Tensor | None) -> None:
    if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
        sched.step(metric)
    else:
        sched.step()


def _clip(net: nn.Module, algorithm: str, value: float) -> None:
    if algorithm == "norm":
        torch.nn.utils.clip_grad_norm_(net.parameters(), value)
    else:
        torch.nn.utils.clip_grad_value_(net.parameters(), value)


def _val_loss(net: nn.Module) -> torch.Tensor:
    with torch.no_grad():
        x, y = next(iter(_val_loader()))
        return F.mse_loss(net(x), y)


# --------------------------------------------------------------------------------------------
# the LightningModule and how it is fitted
# --------------------------------------------------------------------------------------------


class _Module(pl.LightningModule):
    """``configure(parameters)`` returns what configure_optimizers returns."""

    def __init__(self, configure: Callable[[Any], Any] = _sgd) -> None:
        super().__init__()
        self.net = _net()
        self.configure = configure
        self.batch_outputs: list[Any] = []

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        x, y = batch
        loss = F.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", F.mse_loss(self.net(x), y))

    def configure_optimizers(self) -> Any:
        return self.configure(self.net.parameters())


def _fit(model: pl.LightningModule, *, validate: bool = False, **flags: Any) -> pl.Trainer:
    flags = {"max_epochs": EPOCHS, **flags}
    trainer = pl.Trainer(
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        **flags,
    )
    trainer.fit(model, _train_loader(), _val_loader() if validate else None)
    return trainer


def _assert_same_weights(model: nn.Module, reference: nn.Module) -> None:
    for (name, a), b in zip(model.net.named_parameters(), reference.parameters()):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=0, atol=1e-6, msg=name)


def _lr(opt: torch.optim.Optimizer) -> float:
    return opt.param_groups[0]["lr"]


# --------------------------------------------------------------------------------------------
# 1. every form configure_optimizers may return
# --------------------------------------------------------------------------------------------

_FORMS = {
    # id: (what configure_optimizers returns from (optimizer, scheduler), interval, frequency)
    "optimizer": (lambda o, s: o, None, 1),
    "list": (lambda o, s: [o], None, 1),
    "tuple": (lambda o, s: (o,), None, 1),
    "dict_without_scheduler": (lambda o, s: {"optimizer": o}, None, 1),
    "two_lists": (lambda o, s: ([o], [s]), "epoch", 1),
    "two_lists_with_config": (
        lambda o, s: ([o], [{"scheduler": s, "interval": "step"}]),
        "step",
        1,
    ),
    "dict": (lambda o, s: {"optimizer": o, "lr_scheduler": s}, "epoch", 1),
    "dict_with_config": (
        lambda o, s: {
            "optimizer": o,
            "lr_scheduler": {"scheduler": s, "interval": "step", "frequency": 1, "name": "lr"},
        },
        "step",
        1,
    ),
    "list_of_dicts": (
        lambda o, s: [{"optimizer": o, "lr_scheduler": {"scheduler": s}}],
        "epoch",
        1,
    ),
    "tuple_of_dicts": (
        lambda o, s: ({"optimizer": o, "lr_scheduler": {"scheduler": s, "interval": "step"}},),
        "step",
        1,
    ),
}


@pytest.mark.parametrize("form", list(_FORMS))
def test_each_configure_optimizers_form_matches_plain_loop(form: str) -> None:
    wrap, interval, frequency = _FORMS[form]

    def configure(params: Any) -> Any:
        opt = _sgd(params)
        return wrap(opt, _step_lr(opt) if interval else None)

    model = _Module(configure)
    trainer = _fit(model)
    ref, ref_opt, steps = _reference(
        scheduler=(_step_lr, interval, frequency) if interval else None
    )
    _assert_same_weights(model, ref)
    assert trainer.global_step == steps == EPOCHS * BATCHES_PER_EPOCH
    assert _lr(trainer.optimizers[0]) == pytest.approx(_lr(ref_opt), rel=1e-12)


def test_adam_matches_plain_loop() -> None:
    model = _Module(_adam)
    _fit(model)
    _assert_same_weights(model, _reference(_adam)[0])


# --------------------------------------------------------------------------------------------
# 2. scheduler configs: interval, frequency, ReduceLROnPlateau
# --------------------------------------------------------------------------------------------

_BUG_STEP_FREQUENCY = (
    "BUG: plkit/loops/training.py _step_schedulers counts 'step' frequency on global_step; "
    "Lightning 2.x uses (batch_idx + 1) % frequency with batch_idx restarting every epoch"
)
_BUG_PLATEAU_STEP = (
    "BUG: plkit/loops/training.py steps a 'step'-interval ReduceLROnPlateau only after a "
    "validation run; Lightning 2.x steps it after every optimizer step on its monitor"
)


@pytest.mark.parametrize(
    ("make_sched", "interval", "frequency", "accumulate"),
    [
        pytest.param(_step_lr, "epoch", 1, 1, id="epoch"),
        pytest.param(_step_lr, "step", 1, 1, id="step"),
        pytest.param(_step_lr, "epoch", 2, 1, id="epoch-frequency-2"),
        pytest.param(_step_lr, "step", 1, 2, id="step-accumulate-2"),
        pytest.param(
            _step_lr,
            "step",
            2,
            1,
            id="step-frequency-2",
        ),
        pytest.param(_plateau, "epoch", 1, 1, id="plateau-epoch-val_loss"),
        pytest.param(
            _plateau,
            "step",
            1,
            1,
            id="plateau-step-train_loss",
        ),
    ],
)
def test_scheduler_config_matches_plain_loop(
    make_sched: Callable[[Any], Any], interval: str, frequency: int, accumulate: int
) -> None:
    plateau = make_sched is _plateau
    monitor = {"epoch": "val_loss", "step": "train_loss"}[interval] if plateau else None

    def configure(params: Any) -> Any:
        opt = _sgd(params)
        config = {"scheduler": make_sched(opt), "interval": interval, "frequency": frequency}
        if monitor:
            config["monitor"] = monitor
        return {"optimizer": opt, "lr_scheduler": config}

    model = _Module(configure)
    trainer = _fit(model, validate=plateau, accumulate_grad_batches=accumulate)
    ref, ref_opt, _ = _reference(accumulate=accumulate, scheduler=(make_sched, interval, frequency))
    assert _lr(ref_opt) < LR  # the scheduler did act in the reference
    assert _lr(trainer.optimizers[0]) == pytest.approx(_lr(ref_opt), rel=1e-6)
    _assert_same_weights(model, ref)


def test_plateau_missing_metric_with_strict_raises_naming_the_metric() -> None:
    def configure(params: Any) -> Any:
        opt = _sgd(params)
        return {
            "optimizer": opt,
            "lr_scheduler": {"scheduler": _plateau(opt), "monitor": "missing"},
        }

    with pytest.raises(Exception, match=r"(?s)missing.*train_loss") as info:
        _fit(_Module(configure))
    assert isinstance(info.value, (ValueError, RuntimeError, KeyError))


def test_plateau_missing_metric_without_strict_warns_and_keeps_lr() -> None:
    def configure(params: Any) -> Any:
        opt = _sgd(params)
        return {
            "optimizer": opt,
            "lr_scheduler": {"scheduler": _plateau(opt), "monitor": "missing", "strict": False},
        }

    model = _Module(configure)
    with pytest.warns(Warning, match="missing"):
        trainer = _fit(model)
    assert _lr(trainer.optimizers[0]) == LR
    _assert_same_weights(model, _reference()[0])


def test_lr_scheduler_step_override_receives_scheduler_and_metric() -> None:
    calls: list[tuple[str, Any]] = []

    class Module(_Module):
        def lr_scheduler_step(self, scheduler: Any, metric: Any) -> None:
            calls.append((type(scheduler).__name__, metric))
            # a custom rule instead of scheduler.step(): it must be what takes effect
            for group in scheduler.optimizer.param_groups:
                group["lr"] *= 0.5

    def configure(params: Any) -> Any:
        opt = _sgd(params)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": _step_lr(opt)}}

    trainer = _fit(Module(configure))
    assert calls == [("StepLR", None)] * EPOCHS
    assert _lr(trainer.optimizers[0]) == pytest.approx(LR * 0.5**EPOCHS)


def test_lr_scheduler_step_override_gets_the_monitored_value_for_plateau() -> None:
    seen: list[tuple[Any, float]] = []

    class Module(_Module):
        def lr_scheduler_step(self, scheduler: Any, metric: Any) -> None:
            seen.append((scheduler, float(metric)))
            super().lr_scheduler_step(scheduler, metric)

        def on_train_epoch_end(self) -> None:  # runs after the epoch's validation
            self.expected = float(self.trainer.callback_metrics["val_loss"])

    def configure(params: Any) -> Any:
        opt = _sgd(params)
        return {"optimizer": opt, "lr_scheduler": _plateau(opt), "monitor": "val_loss"}

    model = Module(configure)
    trainer = _fit(model, validate=True, max_epochs=1, num_sanity_val_steps=0)
    assert len(seen) == 1
    assert seen[0][0] is trainer.lr_scheduler_configs[0].scheduler
    assert seen[0][1] == pytest.approx(model.expected)


# --------------------------------------------------------------------------------------------
# 3. accumulation, clipping, LBFGS
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("accumulate", [1, 2, 3])
def test_accumulation_matches_plain_loop(accumulate: int) -> None:
    model = _Module()
    trainer = _fit(model, accumulate_grad_batches=accumulate)
    ref, _, steps = _reference(accumulate=accumulate)
    _assert_same_weights(model, ref)
    # 5 batches: windows of 2 are (2, 2, 1), of 3 are (3, 2); the short one still steps
    assert trainer.global_step == steps == EPOCHS * {1: 5, 2: 3, 3: 2}[accumulate]


@pytest.mark.parametrize(("algorithm", "value"), [("norm", 0.5), ("value", 0.05)])
@pytest.mark.parametrize("accumulate", [1, 2])
def test_gradient_clipping_matches_plain_loop(
    algorithm: str, value: float, accumulate: int
) -> None:
    model = _Module()
    _fit(
        model,
        gradient_clip_val=value,
        gradient_clip_algorithm=algorithm,
        accumulate_grad_batches=accumulate,
    )
    ref = _reference(accumulate=accumulate, clip=(algorithm, value))[0]
    _assert_same_weights(model, ref)
    unclipped = _reference(accumulate=accumulate)[0]
    assert not torch.allclose(ref[0].weight, unclipped[0].weight)  # clipping did bite


def test_hooks_see_unclipped_gradients_and_clipping_runs_after_them() -> None:
    norms: list[float] = []

    class Module(_Module):
        def on_before_optimizer_step(self, optimizer: Any) -> None:
            norms.append(float(torch.cat([p.grad.flatten() for p in self.parameters()]).norm()))

    _fit(Module(), gradient_clip_val=0.5, max_epochs=1)
    assert len(norms) == BATCHES_PER_EPOCH
    assert max(norms) > 0.5  # what the hook saw was not clipped yet


def test_configure_gradient_clipping_override_matches_plain_loop() -> None:
    seen: list[tuple[Any, Any]] = []

    class Module(_Module):
        def configure_gradient_clipping(
            self, optimizer: Any, gradient_clip_val: Any = None, gradient_clip_algorithm: Any = None
        ) -> None:
            seen.append((gradient_clip_val, gradient_clip_algorithm))
            self.clip_gradients(optimizer, gradient_clip_val=0.05, gradient_clip_algorithm="value")

    model = Module()
    _fit(model)
    assert len(seen) == EPOCHS * BATCHES_PER_EPOCH
    assert seen[0][0] is None  # no Trainer flag: the hook still runs, with the flag's value
    _assert_same_weights(model, _reference(clip=("value", 0.05))[0])


def test_lbfgs_runs_training_step_inside_the_closure() -> None:
    calls: list[int] = []

    class Module(_Module):
        def training_step(self, batch: Any, batch_idx: int) -> Any:
            calls.append(batch_idx)
            return super().training_step(batch, batch_idx)

    def lbfgs(params: Any) -> torch.optim.Optimizer:
        return torch.optim.LBFGS(params, lr=0.5, max_iter=4)

    model = Module(lbfgs)
    trainer = _fit(model)

    net, loader = _net(), _train_loader()
    opt = lbfgs(net.parameters())
    for _ in range(EPOCHS):
        for x, y in loader:

            def closure(x: torch.Tensor = x, y: torch.Tensor = y) -> torch.Tensor:
                opt.zero_grad()
                loss = F.mse_loss(net(x), y)
                loss.backward()
                return loss

            opt.step(closure)
    _assert_same_weights(model, net)
    assert len(calls) > EPOCHS * BATCHES_PER_EPOCH  # LBFGS re-evaluated the closure
    assert trainer.global_step == EPOCHS * BATCHES_PER_EPOCH


# --------------------------------------------------------------------------------------------
# 4. overridable hooks
# --------------------------------------------------------------------------------------------


def _warm_up(optimizer: Any, step: int) -> None:
    # Lightning's documented pattern: scale the LR over the first optimizer steps
    scale = min(1.0, (step + 1) / 4)
    for group in optimizer.param_groups:
        group["lr"] = scale * LR


@pytest.mark.parametrize("accumulate", [1, 2])
def test_warm_up_in_optimizer_step_takes_effect(accumulate: int) -> None:
    class Module(_Module):
        def optimizer_step(
            self, epoch: int, batch_idx: int, optimizer: Any, optimizer_closure: Any = None
        ) -> None:
            _warm_up(optimizer, self.trainer.global_step)
            optimizer.step(closure=optimizer_closure)

    model = Module()
    _fit(model, accumulate_grad_batches=accumulate)
    ref = _reference(accumulate=accumulate, before_step=_warm_up)[0]
    _assert_same_weights(model, ref)
    assert not torch.allclose(ref[0].weight, _reference(accumulate=accumulate)[0][0].weight)


def test_custom_backward_matches_plain_loop() -> None:
    class Module(_Module):
        def backward(self, loss: torch.Tensor, *args: Any, **kwargs: Any) -> None:
            (loss * 3.0).backward(*args, **kwargs)

    model = Module()
    _fit(model, accumulate_grad_batches=2)
    ref = _reference(accumulate=2, backward=lambda loss: (loss * 3.0).backward())[0]
    _assert_same_weights(model, ref)
    assert not torch.allclose(ref[0].weight, _reference(accumulate=2)[0][0].weight)


def test_optimizer_zero_grad_override_is_used() -> None:
    calls: list[tuple[int, int]] = []

    class Module(_Module):
        def optimizer_zero_grad(self, epoch: int, batch_idx: int, optimizer: Any) -> None:
            calls.append((epoch, batch_idx))
            # never clearing the gradients: they pile up over the whole run
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        p.grad = torch.zeros_like(p)

    model = Module(lambda params: torch.optim.SGD(params, lr=0.01))
    _fit(model, accumulate_grad_batches=2)
    assert calls == [(e, b) for e in range(EPOCHS) for b in (0, 2, 4)]

    net, loader = _net(), _train_loader()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    for _ in range(EPOCHS):
        for batch_idx, (x, y) in enumerate(loader):
            (F.mse_loss(net(x), y) / 2).backward()
            if batch_idx % 2 or batch_idx == BATCHES_PER_EPOCH - 1:
                opt.step()
    _assert_same_weights(model, net)


def test_hook_counts_with_accumulation() -> None:
    counts: dict[str, int] = {}

    def count(name: str) -> Callable[..., None]:
        def hook(self: Any, *args: Any) -> None:
            counts[name] = counts.get(name, 0) + 1

        return hook

    names = [
        "on_before_backward",
        "on_after_backward",
        "on_before_optimizer_step",
        "on_before_zero_grad",
    ]
    module_cls = type("Counting", (_Module,), {n: count(n) for n in names})
    callback_cls = type("CountingCallback", (pl.Callback,), {n: count("cb." + n) for n in names})
    _fit(module_cls(), accumulate_grad_batches=3, callbacks=[callback_cls()])
    batches, steps, windows = EPOCHS * 5, EPOCHS * 2, EPOCHS * 2
    expected = {
        "on_before_backward": batches,
        "on_after_backward": batches,
        "on_before_optimizer_step": steps,
        "on_before_zero_grad": windows,
    }
    assert counts == {**expected, **{"cb." + k: v for k, v in expected.items()}}


def test_training_step_dict_extra_keys_reach_on_train_batch_end() -> None:
    class Module(_Module):
        def training_step(self, batch: Any, batch_idx: int) -> Any:
            loss = super().training_step(batch, batch_idx)
            return {"loss": loss, "tag": batch_idx * 10}

        def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
            self.batch_outputs.append(outputs)

    model = Module()
    _fit(model, accumulate_grad_batches=2)
    _assert_same_weights(model, _reference(accumulate=2)[0])
    first = model.batch_outputs[0]
    assert set(first) == {"loss", "tag"}
    assert [o["tag"] for o in model.batch_outputs[:5]] == [0, 10, 20, 30, 40]
    assert first["loss"].grad_fn is None  # detached
    # Lightning hands on the loss as optimized: divided by accumulate_grad_batches
    x, y = next(iter(_train_loader()))
    torch.testing.assert_close(first["loss"], F.mse_loss(_net()(x), y).detach() / 2)


def test_training_step_returning_none_skips_that_batch() -> None:
    class Module(_Module):
        def training_step(self, batch: Any, batch_idx: int) -> Any:
            loss = super().training_step(batch, batch_idx)
            return None if batch_idx == 2 else loss

    model = Module()
    _fit(model)
    _assert_same_weights(model, _reference(skip_batch=2)[0])
    assert not torch.allclose(model.net[0].weight, _reference()[0][0].weight)
