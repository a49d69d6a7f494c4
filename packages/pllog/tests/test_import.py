"""``import pllog`` must stay cheap: no tensorboard, no tqdm (they load on first use)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_import_loads_neither_tensorboard_nor_tqdm() -> None:
    # torch itself imports tqdm (torch.hub) when it is installed, so measure what pllog adds on
    # top of torch, and block tqdm outright to prove pllog never needs it at import time.
    result = _run(
        """
        import sys
        sys.modules["tqdm"] = None
        import torch
        before = set(sys.modules)
        import pllog
        added = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("tqdm", "tensorboard"))
        assert not added, added
        assert "tensorboard" not in sys.modules
        assert "torch.utils.tensorboard" not in sys.modules
        print("ok", pllog.__version__)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


def test_building_loggers_and_bars_stays_lazy() -> None:
    result = _run(
        """
        import sys, tempfile
        import pllog
        d = tempfile.mkdtemp()
        pllog.TensorBoardLogger(d); pllog.CSVLogger(d); pllog.TQDMProgressBar()
        assert "tensorboard" not in sys.modules
        assert "torch.utils.tensorboard" not in sys.modules
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr


def test_public_api() -> None:
    import pllog

    assert set(pllog.__all__) >= {
        "Logger",
        "TensorBoardLogger",
        "CSVLogger",
        "MLFlowLogger",
        "WandbLogger",
        "ProgressBar",
        "TQDMProgressBar",
        "rank_zero_experiment",
    }
    for name in pllog.__all__:
        assert hasattr(pllog, name)


def test_import_loads_no_optional_backend() -> None:
    # mlflow, wandb, yaml and comet load when a logger needs them, never at import
    result = _run(
        """
        import sys
        import torch
        before = set(sys.modules)
        import pllog
        import pllog.mlflow, pllog.wandb, pllog.comet
        optional = ("mlflow", "wandb", "yaml", "comet_ml")
        added = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in optional)
        assert not added, added
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr


def test_missing_backend_names_the_extra() -> None:
    result = _run(
        """
        import sys
        sys.modules["mlflow"] = None
        sys.modules["wandb"] = None
        sys.modules["comet_ml"] = None
        import pllog
        cases = (
            (pllog.MLFlowLogger, "mlflow", "mlflow"),
            (pllog.WandbLogger, "wandb", "wandb"),
            (pllog.CometLogger, "comet", "comet_ml"),
        )
        for cls, extra, module in cases:
            try:
                cls()
            except ModuleNotFoundError as err:
                assert f"pip install 'pllog[{extra}]'" in str(err), err
                assert err.name == module
            else:
                raise AssertionError(cls)
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")
