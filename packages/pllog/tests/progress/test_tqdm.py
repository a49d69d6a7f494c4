from __future__ import annotations

import io
import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from pllog import TQDMProgressBar
from pllog.progress import tqdm as tqdm_module


def _counts(output: str, desc: str, total: int | str) -> list[int]:
    """The n of every drawing of the bar ``desc`` (``desc: ... n/total``)."""
    return [int(n) for n in re.findall(rf"{desc}:[^\r\n]*?(\d+)/{total} ", output)]


class CountingBar(TQDMProgressBar):
    """Counts get_metrics calls: it must run only at refresh points."""

    calls = 0
    MIN_REDRAW_INTERVAL_S = 0.0  # every refresh point draws (time throttling is tested apart)

    def get_metrics(self, trainer: Any, pl_module: Any) -> dict[str, Any]:
        self.calls += 1
        return super().get_metrics(trainer, pl_module)


def test_fit_draws_on_stdout_with_training_totals_and_metrics(
    stdout: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    out = stdout(tty=False)  # a pipe or a file gets tqdm's bars too, as under Lightning
    bar = TQDMProgressBar()
    driver.fit(bar, driver.make_trainer(), epochs=2)
    text = out.getvalue()
    assert "Sanity Checking DataLoader 0" in text and "Validation DataLoader 0" in text
    # the main bar counts the training batches only (validation has its own bar)
    assert "Epoch 0: 100%|##########| 10/10" in text and "Epoch 1: 100%|##########| 10/10" in text
    last_main = [seg for seg in text.split("\r") if seg.startswith("Epoch 1")][-1]
    assert "v_num=3" in last_main and "loss=0.100" in last_main and "val_loss=0.250" in last_main
    assert last_main.index("v_num") < last_main.index("loss")  # v_num first


def test_refresh_rate_limits_drawing_and_metric_work(
    stdout: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    out = stdout()
    bar = CountingBar(refresh_rate=3)
    trainer = driver.make_trainer(num_val_batches=[], num_sanity_val_batches=[])
    driver.fit(bar, trainer, epochs=1)
    # refresh points 3, 6, 9 and the last batch (10); the reset draws 0
    assert sorted(set(_counts(out.getvalue(), "Epoch 0", 10))) == [0, 3, 6, 9, 10]
    assert bar.calls == 4 + 1  # the refresh points, then once at epoch end


def test_redraws_are_throttled_by_time_but_the_last_batch_always_draws(
    stdout: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    out = stdout()

    class Slow(CountingBar):
        MIN_REDRAW_INTERVAL_S = 3600.0

    bar = Slow(refresh_rate=1)
    trainer = driver.make_trainer(num_val_batches=[], num_sanity_val_batches=[])
    driver.fit(bar, trainer, epochs=1)
    # the first refresh point draws, then only the forced last batch
    assert sorted(set(_counts(out.getvalue(), "Epoch 0", 10))) == [0, 1, 10]
    assert bar.calls == 3  # batch 1, batch 10 and the epoch end


def test_max_steps_shortens_the_last_epoch(driver: SimpleNamespace) -> None:
    bar = TQDMProgressBar()
    trainer = driver.make_trainer(max_epochs=-1, max_steps=13, global_step=10)
    bar.setup(trainer, None, "fit")
    assert bar.total_train_batches == 3
    trainer.max_epochs = 2
    assert bar.total_train_batches == 10


def test_unknown_length_has_no_total(
    stdout: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    out = stdout()
    bar = TQDMProgressBar()
    trainer = driver.make_trainer(
        num_training_batches=float("inf"), num_sanity_val_batches=[], num_val_batches=[]
    )
    driver.fit(bar, trainer, epochs=1, batches=4)
    assert "Epoch 0: |          | 4/? [" in out.getvalue()


def test_evaluation_bars(stdout: Callable[..., io.StringIO], driver: SimpleNamespace) -> None:
    out = stdout()
    bar = TQDMProgressBar()
    trainer = driver.make_trainer(
        num_val_batches=[2, 3], num_test_batches=[4], num_predict_batches=[1, 2]
    )
    driver.evaluate(bar, trainer, "validate")
    driver.evaluate(bar, trainer, "test")
    driver.evaluate(bar, trainer, "predict")
    text = out.getvalue()
    for desc, total in (
        ("Validation DataLoader 0", 2),
        ("Validation DataLoader 1", 3),
        ("Testing DataLoader 0", 4),
        ("Predicting DataLoader 0", 1),
        ("Predicting DataLoader 1", 2),
    ):
        assert max(_counts(text, desc, total)) == total


def test_evaluation_bar_positions(
    stdout: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    stdout()
    bar = TQDMProgressBar(process_position=1)
    trainer = driver.make_trainer()
    bar.setup(trainer, None, "validate")
    trainer.state.fn = "validate"
    alone = bar.init_validation_tqdm()
    assert alone.pos in (-2, 2) and alone.leave is True  # no main bar above it
    trainer.state.fn = "fit"
    val = bar.init_validation_tqdm()
    assert val.pos in (-3, 3) and val.leave is False


def test_disabled_bars_print_nothing(
    stdout: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    out = stdout()
    off = TQDMProgressBar(refresh_rate=0)
    assert off.is_disabled
    driver.fit(off, driver.make_trainer(), epochs=1)
    driver.evaluate(off, driver.make_trainer(), "test")
    other_rank = TQDMProgressBar()
    driver.fit(other_rank, driver.make_trainer(is_global_zero=False), epochs=1)
    assert other_rank.is_disabled
    assert out.getvalue() == ""


def test_leave_keeps_one_bar_per_epoch(
    stdout: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    stdout()
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
    stdout: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    out = stdout()
    bar = TQDMProgressBar()
    trainer = driver.make_trainer()
    bar.setup(trainer, None, "test")
    bar.print("nothing active")  # no bar yet: nothing printed
    bar.on_test_start(trainer, None)
    bar.print("hello", 1, sep="-")
    assert "hello-1\n" in out.getvalue()


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


def test_tqdm_miniters_raises_the_refresh_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TQDM_MINITERS", "5")
    assert TQDMProgressBar(refresh_rate=2).refresh_rate == 5
    assert TQDMProgressBar(refresh_rate=10).refresh_rate == 10


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3, "3"),
        (0.69314, "0.693"),
        (0.5, "0.500"),
        (2.0, "2.000"),
        (123456.0, "1.23e+5"),
        (1e-5, "1e-5"),
        ("abc", "abc"),
        ("12", "12"),  # strings are shown as they are
        ("cdef", "cdef"),
    ],
)
def test_postfix_numbers_are_padded(value: Any, text: str) -> None:
    tqdm_cls = tqdm_module.Tqdm
    bar = tqdm_cls(disable=True)
    bar.set_postfix({"x": value}, refresh=False)
    assert bar.postfix == f"x={text}"
    assert tqdm_cls.__name__ == "Tqdm"


def test_bars_survive_pickling(stdout: Callable[..., io.StringIO], driver: SimpleNamespace) -> None:
    import pickle

    stdout()
    bar = TQDMProgressBar()
    bar.setup(driver.make_trainer(), None, "test")
    bar.on_test_start(bar.trainer, None)
    copy = pickle.loads(pickle.dumps(bar))
    assert copy._test_progress_bar is None


def test_an_exception_draws_the_count_the_throttle_held_back(
    stdout: Callable[..., io.StringIO], driver: SimpleNamespace
) -> None:
    out = stdout()

    class Slow(TQDMProgressBar):
        MIN_REDRAW_INTERVAL_S = 3600.0

    bar = Slow()
    trainer = driver.make_trainer()
    bar.setup(trainer, None, "fit")
    bar.on_train_start(trainer, None)
    bar.on_train_epoch_start(trainer, None)
    for batch_idx in range(3):
        bar.on_train_batch_end(trainer, None, None, None, batch_idx)
    assert max(_counts(out.getvalue(), "Epoch 0", 10)) == 1  # batches 2 and 3 not drawn
    bar.on_exception(trainer, None, KeyboardInterrupt())
    assert max(_counts(out.getvalue(), "Epoch 0", 10)) == 3
    assert not bar.train_progress_bar.disable  # left open, as under Lightning
