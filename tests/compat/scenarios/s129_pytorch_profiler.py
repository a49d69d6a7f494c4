"""PyTorchProfiler: the Chrome traces it exports (names, with the time stamp as *), the
Trainer's actions inside them, the report's title, and the warning when a stage has too few
steps for the default schedule."""

import json
import re
import tempfile
from pathlib import Path

from harness import T, imp
from models import DataModule, Net, quiet_trainer


def _traces(folder: Path) -> dict:
    out = {}
    for path in sorted(folder.glob("*.pt.trace.json")):
        events = json.loads(path.read_text())["traceEvents"]
        actions = sorted({e["name"] for e in events if e.get("name", "").startswith("[pl][")})
        out[re.sub(r"\.\d+\.pt\.trace\.json$", ".*.pt.trace.json", path.name)] = actions
    return out


def main() -> None:
    profilers = imp("profilers")
    # the trace names carry a time stamp: written outside the scenario's folder, named here
    folder = Path(tempfile.mkdtemp())
    models = {"long": Net(), "short": Net()}  # made first: a fit's RNG use is not compared here
    for n, epochs in (("long", 2), ("short", 1)):
        data = DataModule(batch_size=4, n=64 if n == "long" else 8)
        profiler = profilers.PyTorchProfiler(dirpath=folder / n, filename="perf")
        trainer = quiet_trainer(profiler=profiler, enable_progress_bar=False, max_epochs=epochs)
        T.fit(trainer, models[n], datamodule=data)
        T.note(f"{n}_traces", _traces(folder / n))
        report = (folder / n / "fit-perf.txt").read_text().splitlines()
        T.note(f"{n}_report", report[:2])
        T.note(f"{n}_events_kept", profiler.function_events is not None)
    T.final(models["short"])
