"""How long ``import plkit`` takes on top of ``import torch``, in fresh processes.

Run::

    python benchmarks/import_time.py            # 7 fresh processes per row
    python benchmarks/import_time.py --quick    # 2 per row

Each measurement is a new interpreter that imports torch first (untimed), then times the import
of one package with the chosen clock. Bytecode is allowed to be written (an untimed first
import per row writes any that is missing or stale), as after ``pip install``; with
``PYTHONDONTWRITEBYTECODE=1`` and sources newer than their bytecode every import would compile
the package from source, several times slower. Modules still imported from source are listed. Rows for plcore, placcel and pllog show what each layer
adds on its own; the last table lists the modules that cost the most inside ``import plkit``
(``python -X importtime``, self time, one run), and which heavy optional dependencies loaded.

The target row runs ``gc.collect()`` (untimed) after ``import torch``: torch leaves ~166k objects
in the collector's care and the generation counters near a full collection, so whichever import
comes next may pay ~65 ms to scan torch's objects (one full collection), depending on where the
threshold falls rather than on what that import does. The row below it is the same import
without the collect, as a script sees it, with the number of full collections that ran inside.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass

from _common import Row, machine_summary, median, parse_args, print_table, verdict

__all__ = ["main"]

TARGET_S = 0.05  # the target for import plkit on top of import torch
PACKAGES = ("plkit", "plcore", "placcel", "pllog")
# Optional dependencies that must stay unloaded until a logger or progress bar asks for them.
HEAVY = ("tensorboard", "tqdm", "numpy", "matplotlib", "pandas", "yaml", "fsspec")

_PROBE = """
import gc, importlib.util, os, sys, time
import torch
if sys.argv[3] == "collect":
    gc.collect()  # untimed: torch's own objects are not what the timed import pays to scan
clock = time.process_time if sys.argv[2] == "cpu" else time.perf_counter
before = set(sys.modules)
full = gc.get_stats()[2]["collections"]
start = clock()
__import__(sys.argv[1])
elapsed = clock() - start
new = set(sys.modules) - before
print(elapsed, gc.get_stats()[2]["collections"] - full)
print(",".join(sorted(m for m in new if "." not in m)))
def compiled(module):
    source = getattr(module, "__file__", None) or ""
    if not source.endswith(".py"):
        return True
    cached = importlib.util.cache_from_source(source)
    return os.path.exists(cached) and os.path.getmtime(cached) >= os.path.getmtime(source)
print(",".join(sorted(m for m in new if m.split(".")[0] in {packages} and not compiled(sys.modules[m]))))
"""


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    # The child may write bytecode (PYTHONDONTWRITEBYTECODE would make every import compile
    # from source, which an installed package never does) and runs no import profiling.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PYTHONPROFILE") and k != "PYTHONDONTWRITEBYTECODE"
    }
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=True, env=env
    )


@dataclass(frozen=True)
class Probe:
    """One fresh-process import: seconds, full garbage collections it ran, new top-level
    modules, modules run from source."""

    seconds: float
    full_collections: int
    new_modules: list[str]
    uncompiled: list[str]


def time_import(package: str, clock: str, collect: bool = True) -> Probe:
    """Import ``package`` after torch in a fresh process (see :data:`_PROBE`).

    Args:
        package: the package to import.
        clock: ``"cpu"`` or ``"wall"``.
        collect: run ``gc.collect()`` (untimed) after ``import torch``. ``import torch`` leaves
            the collector with ~166k objects and close to a full collection; without this the
            next import that allocates a few thousand objects pays for scanning all of torch's
            (~65 ms here), wherever that threshold happens to fall.
    """
    code = _PROBE.replace("{packages}", repr(set(PACKAGES)))
    mode = "collect" if collect else "as-is"
    lines = _python("-c", code, package, clock, mode).stdout.split("\n")
    seconds, full = lines[0].split()
    return Probe(float(seconds), int(full), _names(lines[1]), _names(lines[2]))


def _names(line: str) -> list[str]:
    return [name for name in line.split(",") if name]


def time_torch(clock: str) -> float:
    """Seconds for ``import torch`` itself in a fresh process (for scale)."""
    timer = "time.process_time" if clock == "cpu" else "time.perf_counter"
    code = f"import time; s = {timer}(); import torch; print({timer}() - s)"
    return float(_python("-c", code).stdout.strip())


def costliest_modules(package: str, top: int) -> list[tuple[int, str]]:
    """``-X importtime`` self times (µs) of the modules ``package`` adds after torch."""
    code = f"import torch, gc; gc.collect(); import {package}"  # see time_import(collect=)
    stderr = _python("-X", "importtime", "-c", code).stderr
    torch_done = stderr.rfind("| torch\n")
    entries = []
    for line in stderr[torch_done:].splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if match:
            entries.append((int(match.group(1)), match.group(4)))
    return sorted(entries, reverse=True)[:top]


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    rounds = args.rounds or (2 if args.quick else 7)
    rows = []
    loaded: list[str] = []
    torch_s = median([time_torch(args.clock) for _ in range(rounds)])
    rows.append(Row("import torch (for scale)", (f"{torch_s * 1e3:.0f}", "", "")))
    uncompiled: set[str] = set()
    for package in PACKAGES:
        time_import(package, args.clock)  # warm-up: writes missing or stale bytecode
        probes = [time_import(package, args.clock) for _ in range(rounds)]
        uncompiled.update(m for probe in probes for m in probe.uncompiled)
        if package == "plkit":
            loaded = [m for m in probes[-1].new_modules if m in HEAVY]
        value = median([probe.seconds for probe in probes])
        target = f"<= {TARGET_S * 1e3:.0f}" if package == "plkit" else ""
        result = verdict(value <= TARGET_S) if package == "plkit" else ""
        rows.append(Row(f"import {package} after torch", (f"{value * 1e3:.1f}", target, result)))
        if package == "plkit":  # as a user's script sees it, collector state left by torch
            raw = [time_import(package, args.clock, collect=False) for _ in range(rounds)]
            full = max(probe.full_collections for probe in raw)
            rows.append(
                Row(
                    f"  same, no gc.collect() after torch ({full} full collection(s) inside)",
                    (f"{median([probe.seconds for probe in raw]) * 1e3:.1f}", "", ""),
                )
            )
    print_table(
        f"Import time: fresh processes, median of {rounds}, {args.clock} time\n{machine_summary()}",
        ("what", "ms", "target ms", "result"),
        rows,
    )
    print(f"\nheavy optional modules loaded by `import plkit`: {', '.join(loaded) or 'none'}")
    if uncompiled:  # e.g. a read-only checkout: those modules compiled on every import above
        print(
            f"modules imported from source (no up-to-date bytecode): {', '.join(sorted(uncompiled))}"
        )
    top = costliest_modules("plkit", 3 if args.quick else 10)
    print_table(
        "Costliest modules inside `import plkit` (python -X importtime, self time, one run)",
        ("module", "self µs"),
        [Row(name, (str(us),)) for us, name in top],
    )


if __name__ == "__main__":
    main()
