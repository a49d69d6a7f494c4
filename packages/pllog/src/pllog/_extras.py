"""Optional backends: find them when a logger is built, or say which pllog extra installs them."""

from __future__ import annotations

import importlib.util

__all__ = ["require"]


def require(module: str, extra: str, what: str) -> None:
    """Raise ``ModuleNotFoundError`` naming ``pip install 'pllog[<extra>]'`` when ``module`` is
    not installed (nothing is imported here, so the check is cheap).

    Args:
        module: the top-level module the feature imports, e.g. ``"mlflow"``.
        extra: pllog's extra that installs it.
        what: the feature, for the message (``"MLFlowLogger"``).
    """
    if importlib.util.find_spec(module) is None:
        raise ModuleNotFoundError(
            f"{what} needs the `{module}` package, which is not installed. Install it with"
            f" `pip install 'pllog[{extra}]'` (`'plkit[{extra}]'` with plkit, or"
            f" `pip install {module}`).",
            name=module,
        )
