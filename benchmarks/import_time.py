"""How long ``import plkit`` takes on top of ``import torch``, in fresh processes.

Run::

    python benchmarks/import_time.py            # 7 fresh processes per row
    python benchmarks/import_time.py --quick    # 2 per row

Each measurement is a new interpreter that imports torch first (untimed), then times the import
of one package with the chosen clock. Rows for plcore, placcel and pllog show what each layer
adds on its own; the last table lists the modules that cost the most inside ``import plkit``
(``python -X importtime``, self time, one run), and which heavy optional dependencies loaded.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from _common import Row, machine_summary, median, parse_args, print_table, verdict

__all__ = ["main"]

TARGET_S = 0.10
PACKAGES = ("plkit", "plcore", "placcel", "pllog")
# Optional dependencies that must stay unloaded until a logger or progress bar asks for them.
HEAVY = ("tensorboard", "tqdm", "numpy", "matplotlib", "pandas", "yaml", "fsspec")

_PROBE = """
import sys, time
import torch
clock = time.process_time if sys.argv[2] == "cpu" else time.perf_counter
before = set(sys.modules)
start = clock()
__import__(sys.argv[1])
elapsed = clock() - start
print(elapsed)
print(",".join(sorted(m for m in set(sys.modules) - before if "." not in m)))
"""


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    # A clean environment for the child: no PYTHONPROFILEIMPORTTIME or similar left over.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHONPROFILE")}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=True, env=env
    )


def time_import(package: str, clock: str) -> tuple[float, list[str]]:
    """Seconds to import ``package`` after torch in a fresh process, and the new top modules."""
    lines = _python("-c", _PROBE, package, clock).stdout.splitlines()
    return float(lines[0]), [m for m in lines[1].split(",") if m]


def time_torch(clock: str) -> float:
    """Seconds for ``import torch`` itself in a fresh process (for scale)."""
    timer = "time.process_time" if clock == "cpu" else "time.perf_counter"
    code = f"import time; s = {timer}(); import torch; print({timer}() - s)"
    return float(_python("-c", code).stdout.strip())


def costliest_modules(package: str, top: int) -> list[tuple[int, str]]:
    """``-X importtime`` self times (µs) of the modules ``package`` adds after torch."""
    code = f"import torch; import {package}"
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
    for package in PACKAGES:
        times = []
        for _ in range(rounds):
            seconds, new_modules = time_import(package, args.clock)
            times.append(seconds)
        if package == "plkit":
            loaded = [m for m in new_modules if m in HEAVY]
        value = median(times)
        target = f"<= {TARGET_S * 1e3:.0f}" if package == "plkit" else ""
        result = verdict(value <= TARGET_S) if package == "plkit" else ""
        rows.append(Row(f"import {package} after torch", (f"{value * 1e3:.1f}", target, result)))
    print_table(
        f"Import time: fresh processes, median of {rounds}, {args.clock} time\n{machine_summary()}",
        ("what", "ms", "target ms", "result"),
        rows,
    )
    print(f"\nheavy optional modules loaded by `import plkit`: {', '.join(loaded) or 'none'}")
    top = costliest_modules("plkit", 3 if args.quick else 10)
    print_table(
        "Costliest modules inside `import plkit` (python -X importtime, self time, one run)",
        ("module", "self µs"),
        [Row(name, (str(us),)) for us, name in top],
    )


if __name__ == "__main__":
    main()
