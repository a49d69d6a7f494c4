"""Trainer(profiler=...): the names it takes, trainer.profiler without one, and the errors for
an unknown name, for barebones=True and (SimpleProfiler) for a misused action."""

from harness import T, imp, pl
from models import caught


def main() -> None:
    profilers = imp("profilers")
    exceptions = imp("utilities.exceptions")
    for name in ("simple", "advanced", "pytorch", "Simple", None):
        trainer = pl.Trainer(profiler=name, logger=False)
        T.note(f"profiler_{name}", type(trainer.profiler).__name__)
    own = profilers.SimpleProfiler(extended=False)
    T.note("instance_kept", pl.Trainer(profiler=own, logger=False).profiler is own)
    T.note("unknown", caught(lambda: pl.Trainer(profiler="fancy")))
    T.note("barebones", caught(lambda: pl.Trainer(profiler="simple", barebones=True)))
    T.note(
        "misconfiguration",
        isinstance_of(lambda: pl.Trainer(profiler="fancy"), exceptions.MisconfigurationException),
    )
    simple = profilers.SimpleProfiler()
    simple.start("a")
    T.note("start_twice", caught(lambda: simple.start("a")))
    T.note("stop_unstarted", caught(lambda: simple.stop("b")))
    advanced = profilers.AdvancedProfiler()
    T.note("advanced_stop_unstarted", caught(lambda: advanced.stop("b")))
    T.note("pytorch_sort_key", caught(lambda: profilers.PyTorchProfiler(sort_by_key="fast")))
    T.note(
        "pytorch_table_kwargs",
        caught(lambda: profilers.PyTorchProfiler(table_kwargs={"row_limit": 3})),
    )
    T.note("pytorch_schedule", caught(lambda: profilers.PyTorchProfiler(schedule=3)))
    T.note(
        "filename",
        [
            simple._prepare_filename(),
            profilers.SimpleProfiler(filename="x")._prepare_filename("a/b:c"),
        ],
    )


def isinstance_of(fn, cls) -> bool:
    try:
        fn()
    except Exception as exc:
        return isinstance(exc, cls)
    return False
