"""Which checkpoints a logger with ``log_model`` still has to upload, and what it says about them.

Shared by the MLflow and W&B loggers. Only the checkpoint callback's public attributes are read
(``best_model_path``, ``last_model_path``, ``best_k_models``, scores and settings), so any
callback that has them works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["checkpoint_metadata", "scan_checkpoints"]

#: The callback settings recorded with an upload (missing ones are left out).
_SETTINGS = ("monitor", "mode", "save_last", "save_top_k", "save_weights_only")


def scan_checkpoints(
    checkpoint_callback: Any, logged_model_time: dict[str, float]
) -> list[tuple[float, str, Any, str]]:
    """The callback's checkpoint files not uploaded since they last changed, oldest first.

    Returns ``(mtime, path, score, tag)`` tuples; ``tag`` is ``"latest"`` (the last checkpoint),
    ``"best"`` or ``"best_k"``. A path listed under several tags keeps the last one
    (best_k over best over latest), as in Lightning.

    Args:
        checkpoint_callback: a ModelCheckpoint (or anything with its attributes).
        logged_model_time: path → mtime of the uploads made so far.
    """
    found: dict[str, tuple[Any, str]] = {}
    cb = checkpoint_callback
    if hasattr(cb, "last_model_path") and hasattr(cb, "current_score"):
        found[cb.last_model_path] = (cb.current_score, "latest")
    if hasattr(cb, "best_model_path") and hasattr(cb, "best_model_score"):
        found[cb.best_model_path] = (cb.best_model_score, "best")
    for path, score in getattr(cb, "best_k_models", {}).items():
        found[path] = (score, "best_k")
    files = sorted(
        (Path(p).stat().st_mtime, p, s, tag) for p, (s, tag) in found.items() if Path(p).is_file()
    )
    return [c for c in files if c[1] not in logged_model_time or logged_model_time[c[1]] < c[0]]


def checkpoint_metadata(
    checkpoint_callback: Any, path: str, score: Any, section: str
) -> dict[str, Any]:
    """The metadata uploaded with a checkpoint: its score, file name and the callback's settings.

    Args:
        checkpoint_callback: the callback that saved ``path``.
        path: the checkpoint file.
        score: its monitored value (a tensor, a number or None).
        section: the key of the settings (``"Checkpoint"`` for MLflow, the class name for W&B).
    """
    cb = checkpoint_callback
    settings = {k: getattr(cb, k) for k in _SETTINGS if hasattr(cb, k)}
    # Lightning records the callback's private ``_every_n_train_steps``; plkit's callback
    # exposes it publicly, and the key keeps Lightning's spelling.
    steps = getattr(cb, "every_n_train_steps", None)
    if steps is not None:
        settings["_every_n_train_steps"] = steps
    return {
        "score": score.item() if hasattr(score, "item") else score,
        "original_filename": Path(path).name,
        section: settings,
    }
