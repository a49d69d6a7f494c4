"""The parent half of the compatibility suite: run a scenario under each implementation, and diff.

``run_scenario`` starts ``runner.py`` in a fresh process and a fresh directory and adds the exit
status and the console lines to the trace. ``compare`` walks two traces and yields every
difference as a ``Diff`` with a path (``entry_points/0/state/global_step``); strings, ints and
orders must be equal, floats within a relative 1e-5. ``report`` prints the first differences
with the values around them.

The Lightning side is deterministic, so its traces are cached locally by a hash of everything
that makes them (``.compat-cache/``, ignored by git; CI starts without one).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = ROOT / ".compat-cache"
LIGHTNING_PYTHON_VAR = "PLKIT_COMPAT_LIGHTNING_PYTHON"
TIMEOUT_S = 180
REL_TOL = 1e-5
ABS_TOL = 1e-7

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def lightning_python() -> str | None:
    """The interpreter of the venv that holds ``pytorch_lightning`` (None: not configured)."""
    return os.environ.get(LIGHTNING_PYTHON_VAR) or None


def _console(text: str, workdir: Path) -> list[str]:
    lines = []
    for raw in _ANSI.sub("", text).replace("\r", "\n").splitlines():
        line = raw.rstrip().replace(str(workdir), "<tmp>")
        line = re.sub(
            r"\b(pytorch_lightning|lightning\.pytorch|lightning_fabric|plkit|plcore|placcel|pllog)\b",
            "<pkg>",
            line,
        )
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _cache_key(scenario: Path, python: str) -> str:
    digest = hashlib.sha256()
    for path in (scenario, HERE / "harness.py", HERE / "runner.py"):
        digest.update(path.read_bytes())
    digest.update(python.encode())
    return digest.hexdigest()[:24]


def run_scenario(scenario: Path, impl: str, workdir: Path, python: str | None = None) -> dict:
    """Run ``scenario`` under ``impl`` ("plkit" or "lightning") in ``workdir``; its trace."""
    python = python or sys.executable
    cached = None
    if impl == "lightning" and not os.environ.get("CI"):
        cached = CACHE / f"{scenario.stem}-{_cache_key(scenario, python)}.json"
        if cached.exists():
            return json.loads(cached.read_text())
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir.parent / f"{workdir.name}-trace.json"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PL_", "PLKIT_", "COMPAT_", "LOCAL_RANK", "RANK", "WORLD_SIZE"))
        and k not in ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "PYTHONPATH")
    }
    env.update(COMPAT_IMPL=impl, PYTHONHASHSEED="0", COLUMNS="120", TQDM_DISABLE="")
    env.pop("TQDM_DISABLE")
    proc = subprocess.run(
        [python, str(HERE / "runner.py"), str(scenario), str(out)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    if out.exists():
        trace = json.loads(out.read_text())
    else:
        trace = {"runner_failed": True, "info": {"stderr": proc.stderr[-4000:]}}
    trace["exit_status"] = proc.returncode
    trace["stdout"] = _console(proc.stdout, workdir)
    trace["stderr"] = _console(proc.stderr, workdir)
    if cached is not None and "runner_failed" not in trace:
        CACHE.mkdir(exist_ok=True)
        cached.write_text(json.dumps(trace))
    return trace


@dataclass(frozen=True)
class Diff:
    path: str
    lightning: Any
    plkit: Any
    detail: str = ""

    def __str__(self) -> str:
        if self.detail:
            return f"{self.path}:\n{self.detail}"
        return f"{self.path}: lightning={_short(self.lightning)} plkit={_short(self.plkit)}"


def _short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


IGNORED_KEYS = {"info", "impl"}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _float_text(value: Any) -> float | None:
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if "." in value or "e" in value.lower() else None
    return None


def _close(a: float, b: float, rel_tol: float) -> bool:
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=ABS_TOL)


def compare(a: Any, b: Any, path: str = "", rel_tol: float = REL_TOL) -> Iterator[Diff]:
    """Every difference between trace ``a`` (Lightning) and ``b`` (plkit)."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = list(a) + [k for k in b if k not in a]
        for key in keys:
            if key in IGNORED_KEYS and not path:
                continue
            sub = f"{path}/{key}" if path else str(key)
            if key not in a:
                yield Diff(sub, "<missing>", b[key])
            elif key not in b:
                yield Diff(sub, a[key], "<missing>")
            else:
                yield from compare(a[key], b[key], sub, rel_tol)
        if list(a) != list(b) and set(a) == set(b):
            yield Diff(f"{path}/<key order>", list(a), list(b))
        return
    if isinstance(a, list) and isinstance(b, list):
        if len(a) > 8 and any(isinstance(x, (list, dict)) for x in a[:1] + b[:1]) or (
            a and isinstance(a[0], str) and len(a) > 4
        ):
            # Long sequences (hooks, console lines, logger calls): one diff with context.
            if len(a) != len(b) or any(next(compare(x, y, "", rel_tol), None) for x, y in zip(a, b)):
                yield Diff(path, None, None, detail=_sequence_diff(a, b, rel_tol))
            return
        for i, (x, y) in enumerate(zip(a, b)):
            yield from compare(x, y, f"{path}/{i}", rel_tol)
        if len(a) != len(b):
            yield Diff(f"{path}/<length>", len(a), len(b))
        return
    if _is_number(a) and _is_number(b) and (isinstance(a, float) or isinstance(b, float)):
        if type(a) is not type(b):
            yield Diff(f"{path}/<type>", type(a).__name__, type(b).__name__)
        if not _close(float(a), float(b), rel_tol):
            yield Diff(path, a, b)
        return
    fa, fb = _float_text(a), _float_text(b)
    if fa is not None and fb is not None:
        if not _close(fa, fb, rel_tol):
            yield Diff(path, a, b)
        return
    if type(a) is not type(b) or a != b:
        yield Diff(path, a, b)


def _canon(value: Any) -> str:
    """One element of a sequence as a line, floats rounded so that tolerance-equal lines match."""

    def rounded(v: Any) -> Any:
        if isinstance(v, float):
            return float(f"{v:.4g}")
        if isinstance(v, dict):
            return {k: rounded(x) for k, x in v.items()}
        if isinstance(v, list):
            return [rounded(x) for x in v]
        return v

    return json.dumps(rounded(value), default=str)


def _sequence_diff(a: list, b: list, rel_tol: float, context: int = 3, limit: int = 60) -> str:
    la, lb = [_canon(x) for x in a], [_canon(x) for x in b]
    lines = list(
        difflib.unified_diff(la, lb, "lightning", "plkit", n=context, lineterm="")
    )
    if not lines:  # equal after rounding: the difference is below the rounding, report one
        for i, (x, y) in enumerate(zip(a, b)):
            first = next(compare(x, y, f"[{i}]", rel_tol), None)
            if first is not None:
                return f"  {first}"
        return f"  lengths {len(a)} vs {len(b)}"
    if len(lines) > limit:
        lines = [*lines[:limit], f"… ({len(lines) - limit} more diff lines)"]
    return "\n".join("  " + line for line in lines)


def report(scenario: str, diffs: list[Diff], lightning: dict, plkit: dict, limit: int = 8) -> str:
    """The first ``limit`` differences of a scenario, with context, for a failure message."""
    parts = [f"{scenario}: {len(diffs)} difference(s) from Lightning"]
    for diff in diffs[:limit]:
        parts.append(f"- {diff}")
    for name, trace in (("lightning", lightning), ("plkit", plkit)):
        info = trace.get("info")
        if info:
            parts.append(f"[{name} info] {_short(info, 2000)}")
        if trace.get("exit_status") not in (0, None) and trace.get("stderr"):
            parts.append(f"[{name} stderr tail]\n" + "\n".join(trace["stderr"][-25:]))
    return "\n".join(parts)


__all__ = ["Diff", "compare", "lightning_python", "report", "run_scenario"]


def _main(argv: list[str]) -> int:
    """``python tests/compat/compat_suite.py SCENARIO...``: run, diff and print every difference.

    Needs ``PLKIT_COMPAT_LIGHTNING_PYTHON``; ``--keep DIR`` keeps both traces and work dirs there.
    """
    import argparse
    import tempfile

    sys.path.insert(0, str(HERE))
    from expected import excused

    parser = argparse.ArgumentParser()
    parser.add_argument("scenarios", nargs="+")
    parser.add_argument("--keep", default=None)
    parser.add_argument("--all", action="store_true", help="also show excused differences")
    args = parser.parse_args(argv)
    python = lightning_python()
    if python is None:
        print(f"set {LIGHTNING_PYTHON_VAR}", file=sys.stderr)
        return 2
    failed = 0
    for name in args.scenarios:
        path = Path(name)
        if not path.exists():
            path = next((HERE / "scenarios").glob(f"{name}*.py"))
        base = Path(args.keep or tempfile.mkdtemp(prefix="compat-")) / path.stem
        a = run_scenario(path, "lightning", base / "lightning", python)
        b = run_scenario(path, "plkit", base / "plkit")
        diffs = [d for d in compare(a, b) if args.all or excused(path.stem, d.path) is None]
        print(report(path.stem, diffs, a, b, limit=1000) if diffs else f"{path.stem}: equal")
        failed += bool(diffs)
        if args.keep:
            for impl, trace in (("lightning", a), ("plkit", b)):
                (base / f"{impl}.json").write_text(json.dumps(trace, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
