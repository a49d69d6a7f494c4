"""AdvancedProfiler: one cProfile block per action in the report (headers, order), the files
it writes (``dump_stats`` files named after the actions) and line_count_restriction."""

from pathlib import Path

from harness import T, imp
from models import DataModule, Net, quiet_trainer


def main() -> None:
    profilers = imp("profilers")
    profiler = profilers.AdvancedProfiler(
        dirpath="adv", filename="perf", line_count_restriction=2, dump_stats=True
    )
    trainer = quiet_trainer(profiler=profiler, enable_progress_bar=False, max_epochs=1)
    model = Net()
    T.fit(trainer, model, datamodule=DataModule())
    text = Path("adv/fit-perf.txt").read_text()
    lines = text.splitlines()
    T.note("title", lines[0])
    T.note("headers", [ln for ln in lines if ln.startswith("Profile stats for: ")])
    T.note("restricted", sum("due to restriction <2>" in ln for ln in lines))
    T.note("sorted_by", sorted({ln.strip() for ln in lines if ln.strip().startswith("Ordered by")}))
    T.note("after_describe", len(profiler.profiled_actions))
    T.final(model)
