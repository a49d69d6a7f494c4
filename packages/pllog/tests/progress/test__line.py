from __future__ import annotations

import io

from pllog.progress._line import LineBar, format_interval


def _bar(**kwargs: object) -> tuple[LineBar, io.StringIO]:
    out = io.StringIO()
    return LineBar("Epoch 0", file=out, **kwargs), out  # type: ignore[arg-type]


def test_one_line_per_round_on_reset_and_close() -> None:
    bar, out = _bar(total=4)
    for _ in range(4):
        bar.update()
    bar.set_postfix({"loss": "0.5"})
    assert out.getvalue() == ""  # nothing while the round runs (interval not reached)
    bar.reset(total=2)
    bar.set_description("Epoch 1")
    bar.update(2)
    bar.close()
    bar.close()
    lines = out.getvalue().splitlines()
    assert [line.split(" [")[0] for line in lines] == ["Epoch 0: 100% 4/4", "Epoch 1: 100% 2/2"]
    assert lines[0].endswith(", loss=0.5]") and "\r" not in out.getvalue()


def test_untouched_transient_and_disabled_bars_print_nothing() -> None:
    bar, out = _bar(total=3)
    bar.close()
    transient, out2 = _bar(total=3, leave=False)
    transient.update(3)
    transient.close()
    off, out3 = _bar(total=3, disable=True)
    off.update(3)
    off.close()
    assert out.getvalue() == out2.getvalue() == out3.getvalue() == ""


def test_periodic_lines_and_unknown_total() -> None:
    bar, out = _bar(interval_s=0.0)
    bar.update(5)
    assert out.getvalue().startswith("Epoch 0: 5 [00:00, ")
    bar.close()
    assert len(out.getvalue().splitlines()) == 1  # nothing new since the periodic line


def test_write_and_format() -> None:
    bar, out = _bar()
    bar.write("hello")
    assert out.getvalue() == "hello\n"
    assert format_interval(5) == "00:05" and format_interval(3725) == "1:02:05"
    bar.n, bar.total, bar.postfix = 1, None, ""
    assert bar.format_line(4.0) == "Epoch 0: 1 [00:04, 4.00s/it]"
