"""Warning classes Lightning users filter on, under Lightning's names.

``PossibleUserWarning`` marks warnings about settings that are often, but not always, a mistake
(a logging interval longer than the epoch, few dataloader workers); filter it with
``warnings.filterwarnings("ignore", category=PossibleUserWarning)`` as under Lightning.
"""

from __future__ import annotations

__all__ = ["PossibleUserWarning"]


class PossibleUserWarning(UserWarning):
    """A setting that is probably, not certainly, a mistake."""
