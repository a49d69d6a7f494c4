"""A fork server: import torch and the implementation once, then fork a fresh process per scenario.

Importing torch and Lightning costs several CPU seconds per process, more than most scenarios
themselves; forking a process that has imported them gives every scenario a new process of its
own at a fraction of that. Nothing but imports happens before the fork (no tensor operation, no
thread), and each child changes to its scenario's directory, takes its environment, points its
stdout / stderr (file descriptors 1 and 2, so C-level writes are caught too) at files, and runs
``runner.py`` as ``__main__`` exactly as a new interpreter would.

Protocol, one JSON object per line: the client writes ``{"argv": [...], "cwd": ..., "env": {...},
"stdout": path, "stderr": path}``; the server answers ``{"pid": N}`` when the child has started
and ``{"pid": N, "status": code}`` when it has ended. The child leads a process group of its own,
so the client can end it and anything it started with one ``killpg``.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import sys


def _preload() -> None:
    import torch

    torch.set_num_threads(1)
    package = {"plkit": "plkit", "lightning": "pytorch_lightning"}[os.environ["COMPAT_IMPL"]]
    importlib.import_module(package)
    importlib.import_module(f"{package}.loggers")
    importlib.import_module(f"{package}.callbacks")
    for optional in ("tqdm.std", "yaml", "tensorboard.backend.event_processing.event_accumulator"):
        try:
            importlib.import_module(optional)
        except ImportError:
            pass


def _child(request: dict) -> None:
    os.setpgid(0, 0)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(handle, fd)
        os.close(handle)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    sys.argv = list(request["argv"])
    code = 0
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    _preload()
    protocol = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)
        print(json.dumps({"pid": pid}), file=protocol, flush=True)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        print(json.dumps({"pid": pid, "status": code}), file=protocol, flush=True)


if __name__ == "__main__":
    main()
