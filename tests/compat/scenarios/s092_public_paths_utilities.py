"""Lightning's public utility paths a user imports: utilities (rank_zero_*, grad_norm,
seed_everything), utilities.exceptions, utilities.warnings, utilities.types; each used."""

import warnings

import torch
from harness import T, imp
from models import caught


def main() -> None:
    utilities = imp("utilities")
    for name in (
        "rank_zero_only",
        "rank_zero_info",
        "rank_zero_warn",
        "grad_norm",
        "move_data_to_device",
        "AttributeDict",
        "rank_zero_deprecation",
    ):
        T.note(f"utilities.{name}", hasattr(utilities, name))

    @utilities.rank_zero_only
    def on_rank_zero():
        return "ran"

    T.note("rank_zero_only_result", on_rank_zero())
    T.note("rank_zero_only.rank", utilities.rank_zero_only.rank)
    utilities.rank_zero_warn("a warning from rank zero")
    layer = torch.nn.Linear(3, 2)
    torch.nn.init.constant_(layer.weight, 0.5)
    torch.nn.init.constant_(layer.bias, -1.0)
    layer(torch.ones(4, 3)).sum().backward()
    T.note("grad_norm", utilities.grad_norm(layer, norm_type=2))
    T.note("grad_norm_inf", utilities.grad_norm(layer, norm_type="inf"))
    T.note("seed_everything", imp("utilities.seed").isolate_rng is not None)

    exceptions = imp("utilities.exceptions")
    T.note(
        "MisconfigurationException",
        [c.__name__ for c in exceptions.MisconfigurationException.__mro__][:2],
    )
    T.note(
        "raise_and_catch",
        caught(lambda: (_ for _ in ()).throw(exceptions.MisconfigurationException("x"))),
    )

    user_warnings = imp("utilities.warnings")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=user_warnings.PossibleUserWarning)
        warnings.warn("filtered", user_warnings.PossibleUserWarning)
    T.note("PossibleUserWarning_base", user_warnings.PossibleUserWarning.__mro__[1].__name__)

    types = imp("utilities.types")
    for name in (
        "STEP_OUTPUT",
        "OptimizerLRScheduler",
        "TRAIN_DATALOADERS",
        "EVAL_DATALOADERS",
        "LRSchedulerConfig",
        "LRSchedulerTypeUnion",
        "OptimizerLRSchedulerConfig",
        "LRSchedulerPLType",
    ):
        T.note(f"types.{name}", hasattr(types, name))
