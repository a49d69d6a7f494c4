from __future__ import annotations

import io
import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from pllog import TQDMProgressBar
from pllog.progress._line import LineBar
from pllog.progress.tqdm import format_metrics


def _main_counts(output: str, total: int) -> list[int]:
    """The n of every drawing of the main bar (``Epoch k: ... n/total``)."""
    return [int(n) for n in re.findall(rf"Epoch \d+:[^\r\n]*?(\d+)/{total} ", output)]


class CountingBar(TQDMProgressBar):
    """Counts get_metrics calls: it must run only at refresh points."""

    calls = 0
    MIN_REDRAW_INTERVAL_S = 0.0  # every refresh point draws (time throttling is tested apart)

    def get_metrics(self, trainer: Any, pl_module: Any) -> dict[str, Any]:
        self.calls += 1
        return super().get_metrics(trainer, pl_module)


def test_tty_fit_draws_epochs_totals_and_metrics(
    stderr: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    tty = stderr(tty=True)
    bar = TQDMProgressBar()
    driver.fit(bar, driver.make_trainer(), epochs=2)
    out = tty.getvalue()
    assert "Sanity Checking" in out and "Validation" in out
    # 10 training + 2 validation batches per epoch on the main bar
    assert "Epoch 0: 100%|##########| 12/12" in out and "Epoch 1: 100%|##########| 12/12" in out
    last_main = [seg for seg in out.split("\r") if seg.startswith("Epoch 1")][-1]
    assert "v_num=3" in last_main and "loss=0.100" in last_main and "val_loss=0.250" in last_main
    assert last_main.index("v_num") < last_main.index("loss")  # v_num first, as in Lightning


def test_refresh_rate_limits_drawing_and_metric_work(
    stderr: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    tty = stderr(tty=True)
    bar = CountingBar(refresh_rate=3)
    trainer = driver.make_trainer(num_val_batches=[], num_sanity_val_batches=[])
    driver.fit(bar, trainer, epochs=1)
    # refresh points 3, 6, 9 and the last batch (10); the reset draws 0
    assert sorted(set(_main_counts(tty.getvalue(), 10))) == [0, 3, 6, 9, 10]
    assert bar.calls == 4 + 1  # the refresh points, then once at epoch end


def test_redraws_are_throttled_by_time_but_the_last_batch_always_draws(
    stderr: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    tty = stderr(tty=True)

    class Slow(CountingBar):
        MIN_REDRAW_INTERVAL_S = 3600.0

    bar = Slow(refresh_rate=1)
    trainer = driver.make_trainer(num_val_batches=[], num_sanity_val_batches=[])
    driver.fit(bar, trainer, epochs=1)
    # the first refresh point draws (nothing drawn yet), then only the forced last batch
    assert sorted(set(_main_counts(tty.getvalue(), 10))) == [0, 1, 10]
    assert bar.calls <= 3


def test_validation_inside_the_epoch_counts_on_the_main_bar(
    stderr: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    tty = stderr(tty=True)
    bar = TQDMProgressBar()
    trainer = driver.make_trainer(val_check_batch=5, num_sanity_val_batches=[])
    driver.fit(bar, trainer, epochs=1)
    counts = _main_counts(tty.getvalue(), 14)  # 10 training + 2 runs x 2 validation batches
    assert counts[-1] == 14 and 7 in counts  # 5 training + 2 validation after the first run


def test_skipped_validation_epoch_has_train_total_only(
    stderr: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    tty = stderr(tty=True)
    bar = TQDMProgressBar()
    trainer = driver.make_trainer(check_val_every_n_epoch=2, num_sanity_val_batches=[])
    driver.fit(bar, trainer, epochs=2)
    out = tty.getvalue()
    assert "Epoch 0: 100%|##########| 10/10" in out
    assert "Epoch 1: 100%|##########| 12/12" in out


def test_unknown_length_has_no_total(
    stderr: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    tty = stderr(tty=True)
    bar = TQDMProgressBar()
    trainer = driver.make_trainer(
        num_training_batches=float("inf"), num_sanity_val_batches=[], num_val_batches=[]
    )
    driver.fit(bar, trainer, epochs=1, batches=4)
    assert "Epoch 0: |          | 4/? [" in tty.getvalue()


def test_non_tty_prints_one_line_per_epoch(
    stderr: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    plain = stderr()
    bar = TQDMProgressBar()
    driver.fit(bar, driver.make_trainer(num_training_batches=50, val_check_batch=50), epochs=3)
    out = plain.getvalue()
    assert "\r" not in out and "\x1b" not in out
    lines = out.splitlines()
    assert len(lines) == 3  # not one per batch; sanity check and validation are transient
    for epoch, line in enumerate(lines):
        assert line.startswith(f"Epoch {epoch}: 100% 52/52 [")
        assert "v_num=3" in line and "loss=0.020" in line and "val_loss=0.250" in line


def test_non_tty_long_epochs_print_periodic_lines(
    stderr: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    plain = stderr()
    bar = TQDMProgressBar(refresh_rate=5)
    bar.LINE_INTERVAL_S = 0.0  # every refresh point is "long enough" ago
    trainer = driver.make_trainer(num_val_batches=[], num_sanity_val_batches=[])
    driver.fit(bar, trainer, epochs=1)
    lines = plain.getvalue().splitlines()
    heads = [line.split(" [")[0] for line in lines]
    assert heads[:2] == ["Epoch 0:  50% 5/10", "Epoch 0: 100% 10/10"]
    assert set(heads) == {"Epoch 0:  50% 5/10", "Epoch 0: 100% 10/10"}  # only refresh points


def test_evaluation_bars(stderr: Callable[..., io.StringIO], driver: SimpleNamespace) -> None:
    plain = stderr()
    bar = TQDMProgressBar()
    trainer = driver.make_trainer(
        num_val_batches=[2, 3], num_test_batches=[4], num_predict_batches=[1, 2]
    )
    driver.evaluate(bar, trainer, "validate")
    driver.evaluate(bar, trainer, "test")
    driver.evaluate(bar, trainer, "predict")
    heads = [line.split(" [")[0] for line in plain.getvalue().splitlines()]
    assert heads == [
        "Validation DataLoader 0: 100% 2/2",
        "Validation DataLoader 1: 100% 3/3",
        "Testing: 100% 4/4",
        "Predicting DataLoader 0: 100% 1/1",
        "Predicting DataLoader 1: 100% 2/2",
    ]


def test_tty_evaluation_bar_positions(
    stderr: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    stderr(tty=True)
    bar = TQDMProgressBar(process_position=1)
    trainer = driver.make_trainer()
    bar.setup(trainer, None, "validate")
    trainer.state.fn = "validate"
    assert bar.init_validation_tqdm().pos in (-2, 2)  # alone: no main bar above it
    trainer.state.fn = "fit"
    val = bar.init_validation_tqdm()
    assert val.pos in (-3, 3) and val.leave is False


@pytest.mark.parametrize("tty", [True, False], ids=["tty", "plain"])
def test_disabled_bars_print_nothing(
    tty: bool, stderr: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    out = stderr(tty=tty)
    off = TQDMProgressBar(refresh_rate=0)
    assert off.is_disabled
    driver.fit(off, driver.make_trainer(), epochs=1)
    driver.evaluate(off, driver.make_trainer(), "test")
    other_rank = TQDMProgressBar()
    driver.fit(other_rank, driver.make_trainer(is_global_zero=False), epochs=1)
    assert other_rank.is_disabled
    assert out.getvalue() == ""


def test_leave_keeps_one_bar_per_epoch(
    stderr: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    stderr(tty=True)
    bar = TQDMProgressBar(leave=True)
    bars = []
    trainer = driver.make_trainer(num_sanity_val_batches=[], num_val_batches=[])
    bar.on_train_epoch_end = lambda trainer, pl_module: bars.append(bar.train_progress_bar)  # type: ignore[method-assign]
    driver.fit(bar, trainer, epochs=2)
    assert len(bars) == 2 and bars[0] is not bars[1]
    reused = TQDMProgressBar()
    bars.clear()
    reused.on_train_epoch_end = lambda trainer, pl_module: bars.append(reused.train_progress_bar)  # type: ignore[method-assign]
    driver.fit(reused, driver.make_trainer(num_sanity_val_batches=[], num_val_batches=[]), epochs=2)
    assert bars[0] is bars[1]


def test_print_goes_through_the_active_bar(
    stderr: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    plain = stderr()
    bar = TQDMProgressBar()
    trainer = driver.make_trainer()
    bar.setup(trainer, None, "test")
    bar.print("nothing active")  # no bar yet: nothing printed
    bar.on_test_start(trainer, None)
    bar.print("hello", 1, sep="-")
    assert plain.getvalue() == "hello-1\n"


def test_exception_closes_bars(stderr: Callable[..., io.StringIO], driver: SimpleNamespace) -> None:
    plain = stderr()
    bar = TQDMProgressBar()
    trainer = driver.make_trainer()
    bar.setup(trainer, None, "fit")
    bar.on_train_start(trainer, None)
    bar.on_train_epoch_start(trainer, None)
    bar.on_train_batch_end(trainer, None, None, None, 0)
    bar.on_exception(trainer, None, RuntimeError("boom"))
    assert bar.train_progress_bar.disable and plain.getvalue().startswith("Epoch 0:   8% 1/12 [")


def test_bars_before_setup_raise() -> None:
    bar = TQDMProgressBar()
    with pytest.raises(TypeError, match="_train_progress_bar"):
        bar.train_progress_bar
    with pytest.raises(TypeError, match="_trainer"):
        bar.trainer


@pytest.mark.parametrize(
    "kwargs", [{"refresh_rate": -1}, {"refresh_rate": 1.5}, {"process_position": -2}]
)
def test_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        TQDMProgressBar(**kwargs)


def test_format_metrics() -> None:
    import torch

    text = format_metrics(
        {
            "v_num": 3,
            "s": "abc",
            "loss": 0.69314,
            "big": 123456.0,
            "tiny": 1e-5,
            "t": torch.tensor(2.0),
            "z": 0.0,
        }
    )
    assert text == "v_num=3, s=abc, loss=0.693, big=1.23e+05, tiny=1.00e-05, t=2.000, z=0.000"


def test_non_terminal_uses_line_bars(stderr: Callable[..., io.StringIO]) -> None:
    stderr()
    bar = TQDMProgressBar()
    assert isinstance(bar.init_test_tqdm(), LineBar)
