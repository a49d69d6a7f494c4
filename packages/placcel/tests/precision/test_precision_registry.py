import warnings

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


def test_instances_pass_through_and_16_mixed_on_cpu_falls_back_to_bf16():
    precision = DoublePrecision()
    assert precision_from_flag(precision, "cpu") is precision
    # Lightning's behaviour: a warning, then bf16-mixed (float16 autocast is not used on CPU)
    with pytest.warns(UserWarning, match="Using `precision='bf16-mixed'` instead"):
        fallback = precision_from_flag("16-mixed", "cpu")
    assert fallback.precision == "bf16-mixed"


def test_historical_spellings_warn_except_32_and_64():
    with pytest.warns(UserWarning, match="precision=16` is supported for historical reasons"):
        assert normalize_precision(16) == "16-mixed"
    with pytest.warns(UserWarning, match="precision=bf16`"):
        assert normalize_precision("bf16") == "bf16-mixed"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert normalize_precision(32) == "32-true"
        assert normalize_precision("64") == "64-true"
