"""Run one scenario under one implementation and write its trace as JSON.

    COMPAT_IMPL=plkit python tests/compat/runner.py scenarios/s001_fit_minimal.py out.json

The working directory is the scenario's own (the test makes a fresh one per implementation);
the trace file is written outside it. The process exits as the scenario would: 0, 1 on an
exception, or the code of a ``SystemExit``. The parent adds the exit status and the console
lines (``compat_suite.run_scenario``).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import torch  # noqa: E402

torch.set_num_threads(1)

import harness  # noqa: E402
from harness import T, exception_info, light  # noqa: E402


def _files(root: Path) -> list[str]:
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts:
            continue
        name = path.relative_to(root).as_posix()
        if ".tfevents." in name:
            name = name.split(".tfevents.")[0] + ".tfevents.*"
        out.append(name)
    return sorted(out)


def _checkpoint(path: Path) -> dict[str, Any]:
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    out: dict[str, Any] = {"keys": sorted(ckpt)}
    for key in ("epoch", "global_step", "hparams_name"):
        if key in ckpt:
            out[key] = light(ckpt[key])
    if "hyper_parameters" in ckpt:
        out["hyper_parameters"] = light(dict(ckpt["hyper_parameters"]))
    if "state_dict" in ckpt:
        out["state_dict"] = {k: light(v) for k, v in ckpt["state_dict"].items()}
    if "callbacks" in ckpt:
        out["callbacks"] = {
            harness.gist(k): sorted(v) if isinstance(v, dict) else type(v).__name__
            for k, v in ckpt["callbacks"].items()
        }
    if "optimizer_states" in ckpt:
        out["optimizer_states"] = [sorted(s) for s in ckpt["optimizer_states"]]
    if "lr_schedulers" in ckpt:
        out["lr_schedulers"] = [sorted(s) for s in ckpt["lr_schedulers"]]
    return out


def _csv(path: Path) -> list[list[str]]:
    import csv

    with open(path, newline="") as handle:
        return [row for row in csv.reader(handle)]


def _tensorboard(path: Path) -> dict[str, Any]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(path), size_guidance={"scalars": 0})
    acc.Reload()
    tags = acc.Tags()
    scalars = {
        tag: [[e.step, light(float(e.value))] for e in acc.Scalars(tag)] for tag in tags["scalars"]
    }
    return {"scalars": scalars, "tensors": sorted(tags.get("tensors", []))}


def _artifacts(root: Path) -> dict[str, Any]:
    files = _files(root)
    out: dict[str, Any] = {"files": files, "checkpoints": {}, "yaml": {}, "csv": {}, "tb": {}}
    # A symbolic link (ModelCheckpoint(save_last="link")) is recorded with its target.
    links = {name: os.readlink(root / name) for name in files if (root / name).is_symlink()}
    if links:
        out["links"] = links
    event_dirs: set[str] = set()
    for name in files:
        path = root / name
        if name.endswith(".ckpt") and path.is_file():
            try:
                out["checkpoints"][name] = _checkpoint(path)
            except Exception as exc:
                out["checkpoints"][name] = {"unreadable": type(exc).__name__}
        elif name.endswith((".yaml", ".yml")):
            out["yaml"][name] = path.read_text()
        elif name.endswith(".csv"):
            out["csv"][name] = _csv(path)
        elif ".tfevents." in name:
            event_dirs.add(str(Path(name).parent))
    for folder in sorted(event_dirs):
        try:
            out["tb"][folder] = _tensorboard(root / folder)
        except Exception as exc:  # tensorboard missing or the file unreadable
            out["tb"][folder] = {"unreadable": type(exc).__name__}
    return out


def _weights(module: Any) -> Any:
    if module is None:
        return None
    out = {}
    for name, value in module.state_dict().items():
        out[name] = light(value)
    return out


def _process_rank() -> int:
    """This process's global rank in a multi-process scenario (0: the one the suite started).

    Lightning's and plkit's ``strategy="ddp"`` re-run this script for the other ranks with
    ``LOCAL_RANK`` (and ``NODE_RANK``) set; the suite clears those variables for the first one.
    """
    if "RANK" in os.environ:
        return int(os.environ["RANK"])
    per_node = int(os.environ.get("LOCAL_WORLD_SIZE") or 1)
    return int(os.environ.get("NODE_RANK") or 0) * per_node + int(os.environ.get("LOCAL_RANK") or 0)


def rank_path(out_path: Path, rank: int) -> Path:
    """Where rank ``rank`` writes its trace: ``out.json`` for 0, ``out.json.rank1`` and so on."""
    return out_path if rank == 0 else out_path.with_name(f"{out_path.name}.rank{rank}")


def _redirect_console(path: Path) -> None:
    """Send this process's stdout / stderr to ``<path>.stdout`` / ``.stderr`` (another rank's
    lines would interleave with rank 0's at random). The inherited pipes stay open, unused, so
    the suite still waits for this process to end."""
    sys.stdout.flush()
    sys.stderr.flush()
    for fd, suffix in ((1, "stdout"), (2, "stderr")):
        os.dup(fd)  # keep the pipe's write end open until this process exits
        target = os.open(f"{path}.{suffix}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)


def main() -> int:
    scenario, out_path = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    rank = _process_rank()
    out_path = rank_path(out_path, rank)
    if rank != 0:
        _redirect_console(out_path)
    harness.install_patches()
    torch.manual_seed(0)
    spec = importlib.util.spec_from_file_location("scenario", scenario)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    code = 0
    try:
        spec.loader.exec_module(module)
        module.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        T.data["exception"] = {"class": "SystemExit", "code": light(exc.code)}
    except BaseException as exc:
        code = 1
        T.data["exception"] = exception_info(exc)
        # The message is shown in a failure report but not compared: plkit's may be clearer.
        T.data["info"] = {"message": harness.gist(str(exc))[:500]}
    if rank == 0:  # the files are shared; rank 0 records them (other ranks may still write)
        T.data["artifacts"] = _artifacts(Path.cwd())
    T.data["weights"] = _weights(T.module)
    T.data["impl"] = harness.IMPL
    with open(out_path, "w") as handle:
        json.dump(T.data, handle, indent=1, default=_default, allow_nan=False)
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def _default(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return repr(value)


if __name__ == "__main__":
    os._exit(main())
