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

import atexit
import difflib
import hashlib
import json
import math
import os
import re
import shutil
import signal
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
    if workdir.exists():  # a kept directory from an earlier run: start from an empty one
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir.parent / f"{workdir.name}-trace.json"
    out.unlink(missing_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PL_", "PLKIT_", "COMPAT_", "LOCAL_RANK", "RANK", "WORLD_SIZE"))
        and k not in ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "PYTHONPATH")
    }
    env.update(COMPAT_IMPL=impl, PYTHONHASHSEED="0", COLUMNS="120")
    # Users' imports hit compiled bytecode; without this every scenario recompiles torch's and
    # Lightning's Python (PYTHONDONTWRITEBYTECODE is set on the project's machines).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for stale in out.parent.glob(f"{out.name}.rank*"):
        stale.unlink()
    command = [python, str(HERE / "runner.py"), str(scenario), str(out)]
    if _needs_own_interpreter(scenario):
        proc = _run_group(command, cwd=workdir, env=env)
    else:
        proc = _fork_server(python, impl).run(command[1:], cwd=workdir, env=env)
    if out.exists():
        trace = json.loads(out.read_text())
    else:
        trace = {"runner_failed": True, "info": {"stderr": proc.stderr[-4000:]}}
    trace["exit_status"] = proc.returncode
    trace["stdout"] = _console(proc.stdout, workdir)
    trace["stderr"] = _console(proc.stderr, workdir)
    ranks = _other_ranks(out, workdir)
    if ranks:
        trace["ranks"] = ranks
    if cached is not None and "runner_failed" not in trace:
        CACHE.mkdir(exist_ok=True)
        cached.write_text(json.dumps(trace))
    return trace


def _needs_own_interpreter(scenario: Path) -> bool:
    """Scenarios that start other processes (``strategy="ddp"`` re-runs the script per rank)
    run in a new interpreter, whose process group holds every rank; the rest are forked."""
    return bool(re.search(r"""strategy\s*=\s*["']ddp""", scenario.read_text()))


class _ForkServer:
    """A ``_server.py`` process for one interpreter and implementation (see its docstring)."""

    def __init__(self, python: str, impl: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(COMPAT_IMPL=impl, PYTHONHASHSEED="0")
        self.proc = subprocess.Popen(
            [python, str(HERE / "_server.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )

    def _read(self, timeout: float) -> dict | None:
        import select

        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the compat fork server ended (status {self.proc.poll()})")
        return json.loads(line)

    def run(self, argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
        stdout, stderr = cwd.parent / f"{cwd.name}.stdout", cwd.parent / f"{cwd.name}.stderr"
        request = {"argv": argv, "cwd": str(cwd), "env": env}
        request.update(stdout=str(stdout), stderr=str(stderr))
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        started = self._read(60)
        if started is None:
            raise RuntimeError("the compat fork server did not start the scenario within 60 s")
        pid, note = started["pid"], ""
        done = self._read(TIMEOUT_S)
        if done is None:
            _kill_group(pid)
            done = self._read(60) or {"status": -9}
            note = f"\n[compat_suite] killed after {TIMEOUT_S} s"
        _kill_group(pid)  # anything the scenario started and left behind
        return subprocess.CompletedProcess(
            argv, done["status"], stdout.read_text(), stderr.read_text() + note
        )

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


_SERVERS: dict[tuple[str, str], _ForkServer] = {}


def _fork_server(python: str, impl: str) -> _ForkServer:
    key = (python, impl)
    server = _SERVERS.get(key)
    if server is None or server.proc.poll() is not None:
        server = _SERVERS[key] = _ForkServer(python, impl)
    return server


@atexit.register
def _close_servers() -> None:
    for server in _SERVERS.values():
        server.close()


def _run_group(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``command`` in a process group of its own and wait for all of it: the processes a
    ``strategy="ddp"`` launcher starts hold the output pipes, so reading to their end waits for
    every rank. Past ``TIMEOUT_S`` (and in any case at the end) the whole group is killed, so no
    rank outlives its scenario."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        stdout, stderr = proc.communicate()
        stderr += f"\n[compat_suite] killed after {TIMEOUT_S} s"
    finally:
        _kill_group(proc.pid)
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _other_ranks(out: Path, workdir: Path) -> dict[str, Any]:
    """The traces of ranks other than 0 (``out.json.rank1`` …, written by ``runner.py``), each
    with its console lines, keyed by rank."""
    ranks: dict[str, Any] = {}
    paths = sorted(out.parent.glob(f"{out.name}.rank*"), key=lambda p: p.name)
    for path in paths:
        name = path.name[len(out.name) + len(".rank") :]
        if not name.isdigit():
            continue  # the .stdout / .stderr files, read below
        trace = json.loads(path.read_text())
        for stream in ("stdout", "stderr"):
            console = path.with_name(f"{path.name}.{stream}")
            text = console.read_text() if console.exists() else ""
            trace[stream] = _console(text, workdir)
        ranks[name] = trace
    return dict(sorted(ranks.items(), key=lambda item: int(item[0])))


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
            # a trace's own keys, at its top or at the top of another rank's (ranks/1)
            if key in IGNORED_KEYS and (not path or re.fullmatch(r"ranks/\d+", path)):
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
        if (
            len(a) > 8
            and any(isinstance(x, (list, dict)) for x in a[:1] + b[:1])
            or (a and isinstance(a[0], str) and len(a) > 4)
        ):
            # Long sequences (hooks, console lines, logger calls): one diff with context.
            if len(a) != len(b) or any(
                next(compare(x, y, "", rel_tol), None) for x, y in zip(a, b)
            ):
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
    lines = list(difflib.unified_diff(la, lb, "lightning", "plkit", n=context, lineterm=""))
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
    from expected import drop_expected_lines, excused

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
        scratch = None if args.keep else tempfile.mkdtemp(prefix="compat-")
        base = Path(args.keep or scratch) / path.stem
        try:
            a = run_scenario(path, "lightning", base / "lightning", python)
            b = run_scenario(path, "plkit", base / "plkit")
        finally:
            if scratch is not None:  # without --keep nothing of the run is left behind
                shutil.rmtree(scratch, ignore_errors=True)
        if not args.all:
            a, b = drop_expected_lines(path.stem, a), drop_expected_lines(path.stem, b)
        diffs = [d for d in compare(a, b) if args.all or excused(path.stem, d.path) is None]
        print(report(path.stem, diffs, a, b, limit=1000) if diffs else f"{path.stem}: equal")
        failed += bool(diffs)
        if args.keep:
            for impl, trace in (("lightning", a), ("plkit", b)):
                (base / f"{impl}.json").write_text(json.dumps(trace, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
