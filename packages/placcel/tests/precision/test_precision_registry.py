import pytest

from placcel.precision import (
    DoublePrecision,
    HalfPrecision,
    MixedPrecision,
    Precision,
    normalize_precision,
    precision_from_flag,
)


@pytest.mark.parametrize(
    ("flag", "name"),
    [
        ("32-true", "32-true"),
        (32, "32-true"),
        ("32", "32-true"),
        ("64-true", "64-true"),
        (64, "64-true"),
        ("16-mixed", "16-mixed"),
        (16, "16-mixed"),
        ("16", "16-mixed"),
        ("bf16-mixed", "bf16-mixed"),
        ("bf16", "bf16-mixed"),
        ("16-true", "16-true"),
        ("bf16-true", "bf16-true"),
    ],
)
def test_normalize(flag, name):
    assert normalize_precision(flag) == name


@pytest.mark.parametrize(
    ("flag", "error"),
    [
        ("8", ValueError),
        (8, ValueError),
        ("fp16", ValueError),
        (True, TypeError),
        (16.0, TypeError),
    ],
)
def test_invalid_flags_list_the_accepted_values(flag, error):
    with pytest.raises(
        error, match=r"'32-true', '64-true', '16-mixed', 'bf16-mixed', '16-true', 'bf16-true'"
    ):
        normalize_precision(flag)


@pytest.mark.parametrize(
    ("flag", "cls", "name"),
    [
        (32, Precision, "32-true"),
        ("64", DoublePrecision, "64-true"),
        ("bf16", MixedPrecision, "bf16-mixed"),
        ("16-true", HalfPrecision, "16-true"),
        ("bf16-true", HalfPrecision, "bf16-true"),
    ],
)
def test_precision_from_flag(flag, cls, name):
    precision = precision_from_flag(flag, "cpu")
    assert type(precision) is cls
    assert precision.precision == name


def test_instances_pass_through_and_16_mixed_on_cpu_is_refused():
    precision = DoublePrecision()
    assert precision_from_flag(precision, "cpu") is precision
    with pytest.raises(ValueError, match="bf16-mixed"):
        precision_from_flag("16-mixed", "cpu")
