"""``lightning.pytorch.tuner``: the Tuner (learning rate range test, batch size scaling).

::

    from plkit.tuner import Tuner

    tuner = Tuner(trainer)
    finder = tuner.lr_find(model)           # model.lr is set to finder.suggestion()
    tuner.scale_batch_size(model)           # model.batch_size is set to the largest that fits
"""

from typing import TYPE_CHECKING

from plcore.utilities.lazy import lazy_exports

if TYPE_CHECKING:
    from plkit.tuner.tuning import Tuner

__getattr__, __dir__ = lazy_exports(__name__, {"Tuner": "plkit.tuner.tuning"})

__all__ = ["Tuner"]
