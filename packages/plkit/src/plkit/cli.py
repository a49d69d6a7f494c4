"""``lightning.pytorch.cli``: not implemented in plkit yet.

``LightningCLI`` builds a Trainer, a model and a datamodule from command-line arguments and YAML
files (through jsonargparse). plkit does not provide it yet; the names exist so that an import
fails with a clear message where they are used, not with a missing module.
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["LightningArgumentParser", "LightningCLI", "SaveConfigCallback"]

_MESSAGE = (
    "{name} is not available in plkit yet. Build the Trainer, model and datamodule in a script "
    "(argparse or a config library), or run this entry point with Lightning itself."
)


class _Unavailable:
    def __init__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotImplementedError(_MESSAGE.format(name=type(self).__name__))


class LightningCLI(_Unavailable):
    """Not available in plkit yet: instantiating it raises ``NotImplementedError``."""


class LightningArgumentParser(_Unavailable):
    """Not available in plkit yet: instantiating it raises ``NotImplementedError``."""


class SaveConfigCallback(_Unavailable):
    """Not available in plkit yet: instantiating it raises ``NotImplementedError``."""
