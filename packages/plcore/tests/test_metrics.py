"""``self.log`` bookkeeping without a Trainer: per-hook defaults, reductions, views and syncing.

The expected values follow Lightning 2.x: ``training_step`` logs per step, evaluation steps and
epoch-end hooks per epoch; an epoch ``"mean"`` is weighted by batch size; a value logged with
both ``on_step`` and ``on_epoch`` is forked into ``name_step`` / ``name_epoch``.
"""

from __future__ import annotations

import pytest
import torch

from plcore.metrics import MetricStore, resolve_log_options
from plcore.utilities.exceptions import MisconfigurationException


class RecordingSync:
    """Stands in for a cross-process reduction: records each call and simulates ``world`` ranks
    that all hold the same value (so "sum" multiplies by ``world``, the others return it as is)."""

    def __init__(self, world: int = 2) -> None:
        self.world = world
        self.calls: list[tuple[float, str]] = []

    def __call__(self, tensor: torch.Tensor, op: str) -> torch.Tensor:
        self.calls.append((float(tensor), op))
        return tensor * self.world if op == "sum" else tensor.clone()


def _log_three(store: MetricStore, fx: str = "training_step", **options) -> None:
    """Three batches of sizes 4, 4, 2 with values 1, 2, 3 (weighted mean 1.8)."""
    for value, size in ((1.0, 4), (2.0, 4), (3.0, 2)):
        store.log(fx, "x", torch.tensor(value), batch_size=size, **options)


def _floats(metrics: dict) -> dict[str, float]:
    return {k: round(float(v), 6) for k, v in metrics.items()}


# --- per-hook defaults and permissions -------------------------------------------------------
@pytest.mark.parametrize(
    ("fx", "expected"),
    [
        ("training_step", (True, False)),
        ("on_train_batch_start", (True, False)),
        ("on_train_batch_end", (True, False)),
        ("on_before_backward", (True, False)),
        ("on_after_backward", (True, False)),
        ("on_before_optimizer_step", (True, False)),
        ("on_before_zero_grad", (True, False)),
        ("validation_step", (False, True)),
        ("test_step", (False, True)),
        ("on_validation_batch_end", (False, True)),
        ("on_test_batch_start", (False, True)),
        ("on_train_start", (False, True)),
        ("on_train_epoch_start", (False, True)),
        ("on_train_epoch_end", (False, True)),
        ("on_validation_start", (False, True)),
        ("on_validation_epoch_end", (False, True)),
        ("on_test_epoch_end", (False, True)),
    ],
)
def test_defaults_per_hook(fx, expected):
    assert resolve_log_options(fx, "x", None, None) == expected


@pytest.mark.parametrize(
    ("fx", "on_step", "on_epoch", "expected"),
    [
        ("training_step", None, True, (True, True)),
        ("training_step", False, True, (False, True)),
        ("validation_step", True, None, (True, True)),
        ("validation_step", True, False, (True, False)),
        ("on_train_batch_end", None, True, (True, True)),
    ],
)
def test_explicit_options_override_defaults(fx, on_step, on_epoch, expected):
    assert resolve_log_options(fx, "x", on_step, on_epoch) == expected


@pytest.mark.parametrize(
    "fx",
    [
        "configure_optimizers",
        "setup",
        "teardown",
        "prepare_data",
        "on_fit_start",
        "on_fit_end",
        "on_train_end",
        "on_validation_end",
        "on_test_end",
        "on_sanity_check_start",
        "predict_step",
        "on_predict_batch_end",
        "on_save_checkpoint",
        "on_load_checkpoint",
        "on_before_batch_transfer",
        "transfer_batch_to_device",
        "lr_scheduler_step",
        "on_validation_model_eval",
    ],
)
def test_hooks_that_may_not_log_raise(fx):
    with pytest.raises((RuntimeError, ValueError), match=fx):
        resolve_log_options(fx, "x", None, None)


def test_logging_outside_any_hook_raises():
    with pytest.raises(MisconfigurationException, match="outside"):  # as in Lightning
        resolve_log_options(None, "x", None, None)


@pytest.mark.parametrize("fx", ["on_train_epoch_end", "on_validation_epoch_end", "on_train_start"])
def test_on_step_in_an_epoch_level_hook_raises(fx):
    with pytest.raises(ValueError, match="on_step"):
        resolve_log_options(fx, "x", True, None)


@pytest.mark.parametrize("fx", ["training_step", "validation_step"])
def test_neither_on_step_nor_on_epoch_raises(fx):
    with pytest.raises(ValueError, match="on_epoch"):
        resolve_log_options(fx, "x", False, False)


def test_on_epoch_false_in_an_epoch_level_hook_raises():
    with pytest.raises(ValueError, match="on_epoch"):
        resolve_log_options("on_train_epoch_end", "x", None, False)


# --- epoch reductions ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reduce_fx", "expected"),
    [
        ("mean", 1.8),
        ("MEAN", 1.8),
        (torch.mean, 1.8),
        ("sum", 6.0),
        ("SUM", 6.0),
        (torch.sum, 6.0),
        (sum, 6.0),
        ("max", 3.0),
        (torch.max, 3.0),
        (max, 3.0),
        ("min", 1.0),
        (torch.min, 1.0),
        (min, 1.0),
        pytest.param(
            "avg",
            1.8,
        ),
    ],
)
def test_epoch_reduction(reduce_fx, expected):
    store = MetricStore()
    _log_three(store, on_step=False, on_epoch=True, reduce_fx=reduce_fx)
    views = store.epoch_views()
    assert _floats(views.callback) == {"x": expected}
    assert _floats(views.log) == {"x": expected}


@pytest.mark.parametrize("reduce_fx", ["median", "std", torch.argmax, lambda t: t])
def test_unknown_reduce_fx_raises(reduce_fx):
    store = MetricStore()
    with pytest.raises(ValueError, match="reduce_fx"):
        store.log("training_step", "x", torch.tensor(1.0), reduce_fx=reduce_fx)


def test_mean_without_batch_size_is_the_plain_mean():
    store = MetricStore()
    for value in (1.0, 2.0, 3.0):
        store.log("validation_step", "x", torch.tensor(value))
    assert _floats(store.epoch_views().callback) == {"x": 2.0}


def test_mean_is_weighted_by_batch_size():
    store = MetricStore()
    _log_three(store)
    # (1*4 + 2*4 + 3*2) / 10, not the unweighted (1 + 2 + 3) / 3
    assert float(store.epoch_views().callback["x"]) == pytest.approx(1.8)


def test_python_numbers_and_tensors_mix():
    store = MetricStore()
    store.log("validation_step", "x", 1, batch_size=1)
    store.log("validation_step", "x", 2.5, batch_size=1)
    store.log("validation_step", "x", torch.tensor(4.5), batch_size=2)
    value = store.epoch_views().callback["x"]
    assert isinstance(value, torch.Tensor)
    assert float(value) == pytest.approx((1 + 2.5 + 9.0) / 4)


def test_epoch_mean_of_integer_tensors_is_float32():
    store = MetricStore()
    for value in (1, 2):
        store.log("validation_step", "x", torch.tensor(value), batch_size=1)
    value = store.epoch_views().callback["x"]
    assert value.dtype == torch.float32
    assert float(value) == 1.5


def test_epoch_aggregate_keeps_float32_precision_of_many_small_values():
    store = MetricStore()
    for _ in range(1000):
        store.log("validation_step", "x", torch.tensor(0.1), batch_size=3)
    assert float(store.epoch_views().callback["x"]) == pytest.approx(0.1, rel=1e-6)


# --- the three views ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("on_step", "on_epoch", "step_keys", "epoch_keys"),
    [
        # step view: (callback, log, pbar); epoch view: (callback, log, pbar)
        (True, False, ({"x"}, {"x"}, {"x"}), (set(), set(), set())),
        (False, True, (set(), set(), set()), ({"x"}, {"x"}, {"x"})),
        (
            True,
            True,
            ({"x", "x_step"}, {"x_step"}, {"x_step"}),
            ({"x", "x_epoch"}, {"x_epoch"}, {"x_epoch"}),
        ),
    ],
)
def test_view_keys_for_each_step_epoch_combination(on_step, on_epoch, step_keys, epoch_keys):
    store = MetricStore()
    _log_three(store, on_step=on_step, on_epoch=on_epoch, prog_bar=True)
    step = store.step_views()
    epoch = store.epoch_views()
    assert (set(step.callback), set(step.log), set(step.pbar)) == step_keys
    assert (set(epoch.callback), set(epoch.log), set(epoch.pbar)) == epoch_keys


def test_forked_values_are_the_last_step_and_the_epoch_aggregate():
    store = MetricStore()
    _log_three(store, on_step=True, on_epoch=True, prog_bar=True)
    step = store.step_views()
    assert _floats(step.callback) == {"x": 3.0, "x_step": 3.0}
    assert _floats(step.log) == {"x_step": 3.0}
    epoch = store.epoch_views()
    assert _floats(epoch.callback) == {"x": 1.8, "x_epoch": 1.8}
    assert _floats(epoch.log) == {"x_epoch": 1.8}
    assert _floats(epoch.pbar) == {"x_epoch": 1.8}


def test_logger_false_and_prog_bar_false_filter_their_views():
    store = MetricStore()
    only_step = {"on_step": True, "on_epoch": False}
    store.log("training_step", "hidden", torch.tensor(1.0), logger=False, **only_step)
    store.log("training_step", "shown", torch.tensor(2.0), prog_bar=True, **only_step)
    step = store.step_views()
    assert set(step.callback) == {"hidden", "shown"}
    assert set(step.log) == {"shown"}
    assert set(step.pbar) == {"shown"}


def test_step_views_hold_only_values_logged_since_the_last_read():
    store = MetricStore()
    assert not store.has_step_values
    store.log("training_step", "x", torch.tensor(1.0), on_step=True, on_epoch=False)
    assert store.has_step_values
    assert _floats(store.step_views().log) == {"x": 1.0}
    assert not store.has_step_values
    assert store.step_views().log == {}
    store.log("training_step", "x", torch.tensor(2.0), on_step=True, on_epoch=False)
    assert _floats(store.step_views().log) == {"x": 2.0}


def test_dataloader_idx_suffix_goes_after_the_fork_suffix():
    store = MetricStore()
    for idx in (0, 1):
        store.log(
            "validation_step",
            "x",
            torch.tensor(float(idx)),
            on_step=True,
            on_epoch=True,
            prog_bar=True,
            dataloader_idx=idx,
        )
    step = store.step_views()
    assert set(step.log) == {"x_step/dataloader_idx_0", "x_step/dataloader_idx_1"}
    epoch = store.epoch_views()
    assert _floats(epoch.callback) == {
        "x/dataloader_idx_0": 0.0,
        "x_epoch/dataloader_idx_0": 0.0,
        "x/dataloader_idx_1": 1.0,
        "x_epoch/dataloader_idx_1": 1.0,
    }
    assert set(epoch.pbar) == {"x_epoch/dataloader_idx_0", "x_epoch/dataloader_idx_1"}


def test_values_stay_detached_tensors():
    weight = torch.tensor(2.0, requires_grad=True)
    store = MetricStore()
    store.log("training_step", "x", weight * 3, on_step=True, on_epoch=True)
    for view in (store.step_views(), store.epoch_views()):
        for value in (*view.callback.values(), *view.log.values()):
            assert isinstance(value, torch.Tensor)
            assert not value.requires_grad
            assert value.ndim == 0


def test_one_element_tensor_is_accepted_as_a_scalar():
    store = MetricStore()
    store.log("training_step", "x", torch.tensor([[1.5]]), on_step=True, on_epoch=False)
    value = store.step_views().callback["x"]
    assert value.ndim == 0 and float(value) == 1.5


def test_reset_forgets_everything():
    store = MetricStore()
    _log_three(store, on_step=True, on_epoch=True)
    store.reset()
    assert not store.has_step_values
    assert store.epoch_views().callback == {}
    assert store.names() == []


# --- errors ------------------------------------------------------------------------------------
def test_non_scalar_tensor_raises_with_the_key_and_a_fix():
    store = MetricStore()
    with pytest.raises(ValueError, match=r"'x'.*\(2, 3\).*mean\(\)"):
        store.log("training_step", "x", torch.zeros(2, 3))


@pytest.mark.parametrize("value", ["text", None, [1.0, 2.0], {"a": 1.0}, object()])
def test_values_that_are_not_numbers_raise_with_the_key(value):
    store = MetricStore()
    with pytest.raises((TypeError, ValueError), match="'x'"):
        store.log("training_step", "x", value)


def test_bool_is_logged_as_a_number():
    store = MetricStore()
    store.log("training_step", "flag", True, on_step=True, on_epoch=False)
    assert _floats(store.step_views().callback) == {"flag": 1.0}


@pytest.mark.parametrize(
    "changed",
    [
        {"prog_bar": True},
        {"logger": False},
        {"on_step": True},
        {"on_epoch": False, "on_step": True},
        {"reduce_fx": "sum"},
        {"sync_dist": True},
    ],
)
def test_same_key_twice_in_one_hook_with_other_options_raises(changed):
    store = MetricStore()
    store.log("validation_step", "x", torch.tensor(1.0))
    with pytest.raises(ValueError, match="'x'.*validation_step"):
        store.log("validation_step", "x", torch.tensor(1.0), **changed)


def test_same_key_twice_with_the_same_options_accumulates():
    store = MetricStore()
    store.log("validation_step", "x", torch.tensor(1.0), batch_size=1)
    store.log("validation_step", "x", torch.tensor(3.0), batch_size=1)
    assert _floats(store.epoch_views().callback) == {"x": 2.0}


# --- torchmetrics-like objects (duck-typed; torchmetrics itself is optional) -------------------
class FakeMetric:
    """The part of ``torchmetrics.Metric`` that logging uses: a running mean."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0
        self.resets = 0
        self._forward_cache: torch.Tensor | None = None

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        self.update(values)
        self._forward_cache = values.mean()
        return self._forward_cache

    def update(self, values: torch.Tensor) -> None:
        self.total += float(values.sum())
        self.count += values.numel()

    def compute(self) -> torch.Tensor:
        return torch.tensor(self.total / self.count)

    def reset(self) -> None:
        self.total, self.count, self._forward_cache = 0.0, 0, None
        self.resets += 1


def test_metric_object_epoch_value_is_its_compute():
    metric = FakeMetric()
    store = MetricStore()
    for batch in (torch.tensor([0.0, 1.0, 2.0, 3.0]), torch.tensor([4.0, 5.0])):
        metric(batch)
        store.log("validation_step", "m", metric)
    assert _floats(store.epoch_views().callback) == {"m": 2.5}


def test_metric_object_step_value_is_the_last_batch_value():
    metric = FakeMetric()
    store = MetricStore()
    for batch in (torch.tensor([0.0, 1.0]), torch.tensor([10.0, 20.0])):
        metric(batch)
        store.log("training_step", "m", metric, on_step=True, on_epoch=True)
    assert _floats(store.step_views().log) == {"m_step": 15.0}
    assert _floats(store.epoch_views().log) == {"m_epoch": 7.75}


def test_reset_resets_logged_metric_objects():
    metric = FakeMetric()
    store = MetricStore()
    metric(torch.tensor([1.0]))
    store.log("validation_step", "m", metric)
    store.reset()
    assert metric.resets == 1


# --- cross-process reduction ---------------------------------------------------------------------
def test_no_sync_function_means_no_communication():
    store = MetricStore(sync=None)
    _log_three(store, on_step=True, on_epoch=True, sync_dist=True)
    assert _floats(store.step_views().log) == {"x_step": 3.0}
    assert _floats(store.epoch_views().log) == {"x_epoch": 1.8}


def test_values_without_sync_dist_are_never_synced():
    sync = RecordingSync()
    store = MetricStore(sync=sync)
    _log_three(store, on_step=True, on_epoch=True)
    store.step_views()
    store.epoch_views()
    assert sync.calls == []


def test_step_values_are_synced_only_when_read():
    sync = RecordingSync()
    store = MetricStore(sync=sync)
    for step in range(3):
        store.log(
            "training_step",
            "x",
            torch.tensor(float(step)),
            on_step=True,
            on_epoch=False,
            reduce_fx="sum",
            sync_dist=True,
        )
        assert len(sync.calls) == step  # logging alone never communicates
        views = store.step_views()
        assert sync.calls[-1] == (float(step), "sum")
        assert _floats(views.log) == {"x": 2.0 * step}  # two simulated ranks
    assert len(sync.calls) == 3


def test_step_value_of_a_mean_is_synced_with_mean():
    sync = RecordingSync()
    store = MetricStore(sync=sync)
    store.log("training_step", "x", torch.tensor(5.0), on_step=True, on_epoch=False, sync_dist=True)
    assert _floats(store.step_views().log) == {"x": 5.0}
    assert sync.calls == [(5.0, "mean")]


def test_a_key_logged_twice_before_a_read_is_synced_once():
    sync = RecordingSync()
    store = MetricStore(sync=sync)
    for value in (1.0, 2.0):
        store.log(
            "training_step", "x", torch.tensor(value), on_step=True, on_epoch=False, sync_dist=True
        )
    store.step_views()
    assert len(sync.calls) == 1


def test_epoch_mean_syncs_sum_and_count_once_per_epoch_views():
    sync = RecordingSync(world=2)
    store = MetricStore(sync=sync)
    _log_three(store, on_step=False, on_epoch=True, sync_dist=True)
    assert sync.calls == []
    views = store.epoch_views()
    # weighted sum 18 and count 10 on each of 2 ranks: (2*18) / (2*10)
    assert sorted(op for _, op in sync.calls) == ["sum", "sum"]
    assert sorted(value for value, _ in sync.calls) == [10.0, 18.0]
    assert float(views.callback["x"]) == pytest.approx(1.8)


@pytest.mark.parametrize(("reduce_fx", "expected"), [("sum", 12.0), ("max", 3.0), ("min", 1.0)])
def test_epoch_sum_max_min_sync_once_with_their_op(reduce_fx, expected):
    sync = RecordingSync(world=2)
    store = MetricStore(sync=sync)
    _log_three(store, on_step=False, on_epoch=True, sync_dist=True, reduce_fx=reduce_fx)
    views = store.epoch_views()
    assert [op for _, op in sync.calls] == [reduce_fx]
    assert _floats(views.callback) == {"x": expected}


# --- dtypes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.int64, torch.float16, torch.bfloat16])
def test_step_values_are_stored_as_float32(dtype):
    store = MetricStore()
    store.log("training_step", "x", torch.tensor(3, dtype=dtype), on_step=True, on_epoch=False)
    assert store.step_views().callback["x"].dtype == torch.float32


def test_epoch_sum_of_half_values_does_not_overflow():
    store = MetricStore()
    for _ in range(2):
        store.log(
            "validation_step", "x", torch.tensor(60000.0, dtype=torch.float16), reduce_fx="sum"
        )
    assert float(store.epoch_views().callback["x"]) == 120000.0


def test_epoch_mean_of_half_values_is_float32():
    store = MetricStore()
    for _ in range(2):
        store.log("validation_step", "x", torch.tensor(60000.0, dtype=torch.float16))
    value = store.epoch_views().callback["x"]
    assert value.dtype == torch.float32 and float(value) == 60000.0


def test_rollback_step_takes_back_only_the_failed_steps_values():
    store = MetricStore()
    steps = [0]
    store.step_clock = lambda: steps[0]
    store.log("training_step", "loss", torch.tensor(1.0), on_step=True, on_epoch=False)
    steps[0] = 1  # step 0 finished; nobody read the views yet
    store.log("training_step", "loss", torch.tensor(2.0), on_step=True, on_epoch=False)
    steps[0] = 2
    store.log("training_step", "loss", torch.tensor(9.0), on_step=True, on_epoch=False)
    store.log("training_step", "new", torch.tensor(5.0), on_step=True, on_epoch=False)
    store.rollback_step()  # step 2 failed
    assert _floats(store.step_views().callback) == {"loss": 2.0}


def test_rollback_step_without_a_clock_drops_every_unmerged_value():
    store = MetricStore()
    store.log("training_step", "loss", torch.tensor(1.0), on_step=True, on_epoch=False)
    store.rollback_step()
    assert _floats(store.step_views().callback) == {}


@pytest.mark.parametrize("in_order", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_epoch_mean_has_lightnings_bits_on_cpu(monkeypatch, in_order, dtype):
    """Lightning adds ``value * batch_size`` to a float32 accumulator step by step and divides
    by the summed batch sizes; on the CPU the epoch mean is those very bits, across folds of
    the queue (150 steps: two folds of 64 and a rest) and with uneven batch sizes."""
    import plcore.metrics

    monkeypatch.setattr(plcore.metrics, "IN_ORDER_ON_CPU", in_order)
    gen = torch.Generator().manual_seed(3)
    values = (torch.rand(150, generator=gen) * 10).to(dtype)
    sizes = [int(n) for n in torch.randint(1, 65, (150,), generator=gen)]
    entry = plcore.metrics.MetricEntry("loss", (False, True, False, True, "mean", False), None)
    for value, size in zip(values, sizes):
        entry.update(value, size)
    got = entry.epoch_value(None)
    accumulate = torch.promote_types(
        torch.float32, dtype if dtype != torch.float16 else torch.float32
    )
    total = torch.tensor(0.0, dtype=torch.float32)
    for value, size in zip(values, sizes):
        value = value if value.dtype in (torch.float32, torch.float64) else value.float()
        total = total + value * size
    lightning = total / torch.tensor(sum(sizes))
    assert got.dtype == (accumulate if in_order else dtype)
    if in_order:
        assert got.item() == lightning.item()  # the same bits
    else:
        assert got.double().item() == pytest.approx(
            lightning.item(), rel=1e-3 if dtype == torch.float16 else 1e-6
        )
