import pytest

from placcel.strategies import STRATEGY_NAMES, DDPStrategy, SingleDeviceStrategy, strategy_from_name


@pytest.mark.parametrize(
    ("name", "start_method", "unused"),
    [
        ("ddp", "popen", False),
        ("ddp_find_unused_parameters_true", "popen", True),
        ("ddp_find_unused_parameters_false", "popen", False),
        ("ddp_spawn", "spawn", False),
        ("ddp_spawn_find_unused_parameters_true", "spawn", True),
        ("ddp_fork", "fork", False),
        ("ddp_notebook", "fork", False),
    ],
)
def test_ddp_names(name, start_method, unused):
    strategy = strategy_from_name(name)
    assert type(strategy) is DDPStrategy
    assert strategy.start_method == start_method
    assert strategy.ddp_kwargs["find_unused_parameters"] is unused
    assert name in STRATEGY_NAMES


def test_single_device_and_unknown():
    assert type(strategy_from_name("single_device")) is SingleDeviceStrategy
    with pytest.raises(ValueError, match="DeepSpeed is not supported"):
        strategy_from_name("deepspeed")
    with pytest.raises(ValueError, match="not known"):
        strategy_from_name("ddp2")
