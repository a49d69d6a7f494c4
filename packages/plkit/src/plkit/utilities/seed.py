"""``lightning.pytorch.utilities.seed``: seeding and saving/restoring the random states."""

from plcore.utilities.seed import isolate_rng, pl_worker_init_function, reset_seed, seed_everything

__all__ = ["isolate_rng", "pl_worker_init_function", "reset_seed", "seed_everything"]
