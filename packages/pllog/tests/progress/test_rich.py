"""RichProgressBar driven through the hooks in Lightning's order, drawn on a captured console.

Off a terminal rich prints the bars once, as they stand when the display stops (teardown): that
final frame is what these tests read (the speed column, which depends on time, is left out)."""

from __future__ import annotations

import io
import pickle
import re
from types import SimpleNamespace
from typing import Any

import pytest

rich = pytest.importorskip("rich")

from pllog import RichProgressBar, RichProgressBarTheme  # noqa: E402
from pllog.progress import rich as rich_module  # noqa: E402

_MODULE = object()  # the bar never looks at the LightningModule


@pytest.fixture
def console(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """console_kwargs writing to a buffer; rich's global console is restored afterwards."""
    monkeypatch.setattr(rich, "_console", None)
    return {"file": io.StringIO(), "width": 200, "force_terminal": False}


def _text(kwargs: dict[str, Any]) -> list[str]:
    text = re.sub(r"[\d.]+it/s", "Xit/s", kwargs["file"].getvalue())
    return [line.rstrip() for line in text.splitlines() if line.strip()]


class Counting(RichProgressBar):
    calls = 0

    def get_metrics(self, trainer: Any, pl_module: Any) -> dict[str, Any]:
        self.calls += 1
        return super().get_metrics(trainer, pl_module)


def test_fit_leaves_the_training_bar_with_metrics(console, driver: SimpleNamespace) -> None:
    bar = RichProgressBar(console_kwargs=console)
    driver.fit(bar, driver.make_trainer(), epochs=2)
    lines = _text(console)
    assert len(lines) == 1  # sanity and validation bars are hidden once done
    assert re.fullmatch(
        r"Epoch 1/1  ━+ 10/10 0:00:00 • 0:00:00 Xit/s v_num: 3\.000 loss: 0\.100 val_loss: 0\.250",
        lines[0],
    )


def test_leave_keeps_each_epoch(console, driver: SimpleNamespace) -> None:
    driver.fit(RichProgressBar(leave=True, console_kwargs=console), driver.make_trainer(), 2)
    lines = _text(console)
    assert [line.split("━")[0] for line in lines] == ["Epoch 0/1  ", "Epoch 1/1  "]


def test_test_and_predict_bars(console, driver: SimpleNamespace) -> None:
    bar = RichProgressBar(console_kwargs=console)
    trainer = driver.make_trainer()
    driver.evaluate(bar, trainer, "test")
    driver.evaluate(bar, trainer, "predict")
    lines = _text(console)
    assert lines[0].startswith("Testing ━") and " 3/3 " in lines[0]
    assert lines[1].startswith("Predicting ━") and " 3/3 " in lines[1]
    assert "v_num" not in "".join(lines)  # metrics show on fit's training bar only


def test_unknown_length_shows_dashes(console, driver: SimpleNamespace) -> None:
    trainer = driver.make_trainer(
        num_training_batches=float("inf"), num_sanity_val_batches=[], num_val_batches=[]
    )
    driver.fit(RichProgressBar(console_kwargs=console), trainer, epochs=1, batches=4)
    (line,) = _text(console)
    assert " 4/-- " in line and "• -:--:--" in line


def test_metrics_are_read_at_most_refresh_rate_times_a_second(
    console, driver: SimpleNamespace
) -> None:
    bar = Counting(refresh_rate=1, console_kwargs=console)  # one read a second at most
    trainer = driver.make_trainer(num_sanity_val_batches=[], num_val_batches=[])
    driver.fit(bar, trainer, epochs=1)
    assert bar.calls == 2  # the first batch, then the epoch end (not every batch)
    assert "loss: 0.100" in _text(console)[0]  # the epoch end drew the last value


def test_refresh_rate_zero_draws_nothing(console, driver: SimpleNamespace) -> None:
    bar = RichProgressBar(refresh_rate=0, console_kwargs=console)
    driver.fit(bar, driver.make_trainer(), epochs=1)
    assert bar.is_disabled and bar.progress is None and _text(console) == []


def test_theme_and_pickling(console, driver: SimpleNamespace) -> None:
    theme = RichProgressBarTheme(metrics_format=".1e", metrics_text_delimiter=" | ")
    bar = RichProgressBar(theme=theme, console_kwargs=console)
    driver.fit(bar, driver.make_trainer(num_val_batches=[]), epochs=1)
    # numbers take the format, the version's int too (as in Lightning)
    assert "v_num: 3.0e+00 | loss: 1.0e-01" in _text(console)[0]
    copy = pickle.loads(pickle.dumps(bar))  # a spawned rank gets the callback without its display
    assert copy.progress is None and copy.theme == theme


def test_missing_rich_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "rich" else real(name, *a)
    )
    with pytest.raises(ModuleNotFoundError, match=r"pllog\[rich\]"):
        RichProgressBar()


def test_import_pllog_does_not_load_rich() -> None:
    import subprocess
    import sys

    code = "import sys, pllog; print('rich' in sys.modules)"
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "False"
    assert rich_module.__name__ == "pllog.progress.rich"


def test_an_exception_draws_the_metrics_of_the_batch_it_stopped_at(
    console, driver: SimpleNamespace
) -> None:
    bar = RichProgressBar(refresh_rate=1, console_kwargs=console)  # metrics read once a second
    trainer = driver.make_trainer(num_sanity_val_batches=[], num_val_batches=[])
    trainer.state.fn = "fit"
    bar.setup(trainer, _MODULE, "fit")
    bar.on_train_start(trainer, _MODULE)
    bar.on_train_epoch_start(trainer, _MODULE)
    for batch_idx in range(4):
        trainer.progress_bar_metrics = {"loss": 1 / (batch_idx + 1)}
        bar.on_train_batch_end(trainer, _MODULE, None, None, batch_idx)
    bar.on_exception(trainer, _MODULE, RuntimeError("stop"))
    (line,) = _text(console)
    assert " 4/10 " in line and "loss: 0.250" in line  # not batch 0's 1.000
