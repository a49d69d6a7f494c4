"""Small helpers Lightning users import from ``lightning.pytorch.utilities``.

::

    from plcore.utilities import rank_zero_only, seed_everything, move_data_to_device
"""

from plcore._hparams import AttributeDict
from plcore.utilities.apply import apply_to_collection, move_data_to_device
from plcore.utilities.grads import grad_norm
from plcore.utilities.rank_zero import (
    rank_prefixed_message,
    rank_zero_debug,
    rank_zero_deprecation,
    rank_zero_info,
    rank_zero_only,
    rank_zero_warn,
)
from plcore.utilities.seed import (
    collect_rng_states,
    isolate_rng,
    pl_worker_init_function,
    reset_seed,
    seed_everything,
    set_rng_states,
)

__all__ = [
    "AttributeDict",
    "apply_to_collection",
    "collect_rng_states",
    "grad_norm",
    "isolate_rng",
    "move_data_to_device",
    "pl_worker_init_function",
    "rank_prefixed_message",
    "rank_zero_debug",
    "rank_zero_deprecation",
    "rank_zero_info",
    "rank_zero_only",
    "rank_zero_warn",
    "reset_seed",
    "seed_everything",
    "set_rng_states",
]
