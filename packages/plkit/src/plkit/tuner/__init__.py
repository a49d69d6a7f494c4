"""``lightning.pytorch.tuner``: the Tuner (learning rate range test, batch size scaling).

::

    from plkit.tuner import Tuner

    tuner = Tuner(trainer)
    finder = tuner.lr_find(model)           # model.lr is set to finder.suggestion()
    tuner.scale_batch_size(model)           # model.batch_size is set to the largest that fits
"""

from plkit.tuner.tuning import Tuner

__all__ = ["Tuner"]
