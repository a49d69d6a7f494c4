"""Test helpers: run a function on several gloo CPU ranks (``run_on_ranks``)."""

from placcel.testing._run_on_ranks import RankFailedError, run_on_ranks

__all__ = ["RankFailedError", "run_on_ranks"]
