import json
import subprocess
import sys

import placcel

CHECK = """
import json, os, signal, sys
import torch
before = set(sys.modules)
env_before = dict(os.environ)
handler = signal.getsignal(signal.SIGTERM)
hook = sys.excepthook
import placcel
added = sorted(set(sys.modules) - before)
print(json.dumps({
    "added": added,
    "env_changed": dict(os.environ) != env_before,
    "sigterm_changed": signal.getsignal(signal.SIGTERM) is not handler,
    "excepthook_changed": sys.excepthook is not hook,
    "dist_initialized": torch.distributed.is_initialized(),
}))
"""


def test_import_has_no_side_effects_and_loads_no_siblings():
    out = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=True
    )
    report = json.loads(out.stdout)
    forbidden = ("tensorboard", "tqdm", "plcore", "pllog", "plkit")
    assert [m for m in report["added"] if m.split(".")[0] in forbidden] == []
    assert not report["env_changed"]
    assert not report["sigterm_changed"]
    assert not report["excepthook_changed"]
    assert not report["dist_initialized"]


def test_public_names_are_exported():
    for name in placcel.__all__:
        assert hasattr(placcel, name), name
    for name in (
        "build_strategy",
        "Strategy",
        "DDPStrategy",
        "SingleDeviceStrategy",
        "Precision",
        "MixedPrecision",
    ):
        assert name in placcel.__all__
