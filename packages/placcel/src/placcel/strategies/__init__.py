"""Strategies: one device, DDP or FSDP over processes (re-run script, spawn or fork)."""

from placcel.strategies._registry import STRATEGY_NAMES, strategy_from_name
from placcel.strategies.ddp import DDPStrategy
from placcel.strategies.fsdp import FSDPStrategy, ShardedOptimizerState
from placcel.strategies.single_device import SingleDeviceStrategy
from placcel.strategies.step import StepFunctions
from placcel.strategies.strategy import Strategy

__all__ = [
    "STRATEGY_NAMES",
    "DDPStrategy",
    "FSDPStrategy",
    "ShardedOptimizerState",
    "SingleDeviceStrategy",
    "StepFunctions",
    "Strategy",
    "strategy_from_name",
]
