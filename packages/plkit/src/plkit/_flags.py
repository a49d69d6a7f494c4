"""Trainer flags -> a frozen :class:`Plan`, in one pure function.

Everything the loops need to know about *what* to run (how many epochs, steps and batches, when
to validate, what to log) is decided here, once, from the constructor's arguments; invalid values
fail here with a message that names the flag and what to write instead. Hardware (accelerator,
devices, strategy, precision) is resolved by placcel, not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from plcore.utilities.exceptions import MisconfigurationException

__all__ = ["Plan", "fit_limits", "parse_max_time", "resolve_plan"]

_DETERMINISTIC = (True, False, "warn", None)


@dataclass(frozen=True)
class Plan:
    """What the loops run; every field has Lightning's default semantics."""

    max_epochs: int | None  # -1: unlimited; None: not given (resolved by fit_limits)
    min_epochs: int | None  # None: not given
    max_steps: int  # -1: unlimited
    min_steps: int | None  # None: not given
    max_time: timedelta | None
    limit_train_batches: int | float
    limit_val_batches: int | float
    limit_test_batches: int | float
    limit_predict_batches: int | float
    overfit_batches: int | float
    val_check_interval: int | float
    check_val_every_n_epoch: int | None
    num_sanity_val_steps: int  # -1: all
    log_every_n_steps: int
    accumulate_grad_batches: int
    gradient_clip_val: float | None
    gradient_clip_algorithm: str | None  # None: by norm
    deterministic: bool | str | None
    benchmark: bool | None
    inference_mode: bool
    use_distributed_sampler: bool
    detect_anomaly: bool
    reload_dataloaders_every_n_epochs: int
    fast_dev_run: int  # 0: off
    barebones: bool
    enable_checkpointing: bool
    enable_progress_bar: bool
    enable_model_summary: bool
    logger_enabled: bool
    #: A time-based ``val_check_interval``, in seconds (``val_check_interval`` is then 1.0).
    val_check_time: float | None = None


def _fail(flag: str, value: Any, what: str) -> MisconfigurationException:
    return MisconfigurationException(f"Trainer({flag}={value!r}) is invalid: {what}")


def _int(flag: str, value: Any, minimum: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(flag, value, what)
    return value


def _bool(flag: str, value: Any, allow_none: bool = False) -> bool | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, bool):
        accepted = "True, False or None" if allow_none else "True or False"
        raise TypeError(f"Trainer({flag}={value!r}) must be {accepted}.")
    return value


def _limit(flag: str, value: Any) -> int | float:
    """An int counts batches, a float in [0, 1] is a fraction of the dataloader."""
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(flag, value, "pass an int (number of batches) or a float in [0.0, 1.0].")
    if isinstance(value, float) and value > 1.0 and value.is_integer():
        return int(value)  # 3.0 is 3 batches, as Lightning reads it (LightningCLI writes 3.0)
    if isinstance(value, float) and not 0.0 <= value <= 1.0:
        raise _fail(
            flag,
            value,
            "a float is a fraction of the batches and must be in [0.0, 1.0]; "
            "pass an int for a number of batches.",
        )
    if isinstance(value, int) and value < 0:
        raise _fail(flag, value, "the number of batches must be >= 0.")
    return value


def parse_max_time(value: Any) -> timedelta | None:
    """``"DD:HH:MM:SS"``, a ``timedelta`` or a dict of ``timedelta`` arguments."""
    return None if value is None else _duration("max_time", value)


def _duration(flag: str, value: Any, other_forms: str = "") -> timedelta:
    """A ``timedelta``, a dict of its arguments or ``"DD:HH:MM:SS"`` -> the ``timedelta``
    (``other_forms``: what else the flag takes, for the error message)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, dict):
        try:
            return timedelta(**value)
        except TypeError as err:
            raise _fail(flag, value, f"the dict must hold timedelta arguments ({err}).") from None
    if isinstance(value, str) and re.fullmatch(r"\d+:\d{1,2}:\d{1,2}:\d{1,2}", value):
        days, hours, minutes, seconds = map(int, value.split(":"))
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    raise _fail(
        flag,
        value,
        f'use {other_forms}"DD:HH:MM:SS" (e.g. "00:12:00:00"), a datetime.timedelta '
        "or a dict such as {'hours': 12}.",
    )


def _optional_int(flag: str, value: Any, minimum: int, what: str) -> int | None:
    return None if value is None else _int(flag, value, minimum, what)


def _epochs_and_steps(flags: dict[str, Any]) -> tuple[int | None, int | None, int, int | None]:
    """The epoch and step limits as given; ``None`` stays ``None`` until :func:`fit_limits`."""
    max_steps = _int("max_steps", flags["max_steps"], -1, "use -1 (no limit) or a positive int.")
    max_epochs = _optional_int(
        "max_epochs", flags["max_epochs"], -1, "use -1 (no limit) or an int >= 0."
    )
    min_epochs = _optional_int("min_epochs", flags["min_epochs"], 0, "use an int >= 0.")
    min_steps = _optional_int("min_steps", flags["min_steps"], 0, "use an int >= 0.")
    if max_epochs not in (None, -1) and min_epochs is not None and min_epochs > max_epochs:
        raise _fail("min_epochs", min_epochs, f"it is larger than max_epochs={max_epochs}.")
    return max_epochs, min_epochs, max_steps, min_steps


def fit_limits(plan: Plan, has_timer: bool) -> tuple[Plan, bool]:
    """The plan with ``max_epochs`` / ``min_epochs`` filled in as ``fit`` starts, as Lightning does.

    ``max_epochs=None`` becomes 1000 when neither ``max_steps`` nor a time limit (a ``Timer``
    callback) bounds the run, else -1; ``min_epochs=None`` becomes 1 when ``min_steps`` is set,
    else 0. The flag returned says whether the 1000-epoch default was applied (worth a warning).
    """
    max_epochs, min_epochs = plan.max_epochs, plan.min_epochs
    defaulted = max_epochs is None and plan.max_steps == -1 and not has_timer
    if max_epochs is None:
        max_epochs = 1000 if defaulted else -1
    if min_epochs is None:
        min_epochs = 1 if plan.min_steps is not None else 0
    return replace(plan, max_epochs=max_epochs, min_epochs=min_epochs), defaulted


def _validation(flags: dict[str, Any]) -> tuple[int | float, int | None, int, float | None]:
    vci = flags["val_check_interval"]
    vci = 1.0 if vci is None else vci
    seconds = None
    if isinstance(vci, (str, dict, timedelta)):  # time-based: every that long of training
        forms = "a float in (0.0, 1.0], an int (number of training batches), "
        seconds = _duration("val_check_interval", vci, forms).total_seconds()
        vci = 1.0
    if isinstance(vci, bool) or not isinstance(vci, (int, float)):
        raise _fail(
            "val_check_interval",
            vci,
            "pass a float in (0.0, 1.0] (fraction of an epoch), an int (number of training "
            'batches) or a duration ("DD:HH:MM:SS", a datetime.timedelta or a dict of its '
            "arguments).",
        )
    if (isinstance(vci, float) and not 0.0 < vci <= 1.0) or (isinstance(vci, int) and vci <= 0):
        raise _fail(
            "val_check_interval", vci, "a float must be in (0.0, 1.0] and an int must be > 0."
        )
    every = flags["check_val_every_n_epoch"]
    if every is not None:
        every = _int(
            "check_val_every_n_epoch",
            every,
            1,
            "use an int >= 1, or None to validate "
            "only by val_check_interval (counted across epochs).",
        )
    sanity = flags["num_sanity_val_steps"]
    sanity = (
        2
        if sanity is None
        else _int(
            "num_sanity_val_steps", sanity, -1, "use -1 (all batches), 0 (off) or a positive int."
        )
    )
    if every is None and isinstance(flags["val_check_interval"], float):
        raise MisconfigurationException(
            "`val_check_interval` should be an integer or a time-based duration (str"
            " 'DD:HH:MM:SS', datetime.timedelta, or dict kwargs for timedelta) when"
            " `check_val_every_n_epoch=None`."
        )
    return vci, every, sanity, seconds


def _switches(flags: dict[str, Any]) -> dict[str, bool]:
    barebones = bool(flags["barebones"])
    out = {}
    for name, default in (
        ("enable_checkpointing", True),
        ("enable_progress_bar", True),
        ("enable_model_summary", True),
    ):
        value = flags[name]
        if barebones and value:
            raise _fail(name, value, "barebones=True turns it off; remove one of the two flags.")
        out[name] = (default if value is None else bool(value)) and not barebones
    logger = flags["logger"]
    if barebones and logger not in (None, False):
        raise _fail(
            "logger", logger, "barebones=True turns logging off; remove one of the two flags."
        )
    for name, off in (("log_every_n_steps", 0), ("num_sanity_val_steps", 0), ("fast_dev_run", 0)):
        if barebones and flags[name] not in (None, off, False):
            raise _fail(
                name, flags[name], "barebones=True turns it off; remove one of the two flags."
            )
    if barebones and flags["detect_anomaly"]:
        raise _fail(
            "detect_anomaly", True, "barebones=True is for raw speed; remove one of the two flags."
        )
    # fast_dev_run keeps the loggers' places (a DummyLogger each) and the checkpoint callbacks,
    # which then save nothing.
    out["logger_enabled"] = logger is not False and not barebones
    return out


def resolve_plan(**flags: Any) -> Plan:
    """Validate the Trainer's loop flags and fill in Lightning's defaults."""
    for name in (
        "enable_checkpointing",
        "enable_progress_bar",
        "enable_model_summary",
        "benchmark",
    ):
        _bool(name, flags[name], allow_none=True)
    for name in ("inference_mode", "use_distributed_sampler", "detect_anomaly", "barebones"):
        _bool(name, flags[name])
    fdr = flags["fast_dev_run"]
    if isinstance(fdr, bool):
        fdr = int(fdr)
    fast_dev_run = _int("fast_dev_run", fdr, 0, "use True/False or a positive int (batches).")
    max_epochs, min_epochs, max_steps, min_steps = _epochs_and_steps(flags)
    vci, every, sanity, vci_seconds = _validation(flags)
    overfit = _limit("overfit_batches", flags["overfit_batches"] or 0.0)
    limits = {
        n: _limit(n, flags[n])
        for n in (
            "limit_train_batches",
            "limit_val_batches",
            "limit_test_batches",
            "limit_predict_batches",
        )
    }
    if fast_dev_run:
        limits = dict.fromkeys(limits, fast_dev_run)
        max_epochs, max_steps, sanity, vci, every = 1, fast_dev_run, 0, 1.0, 1
        vci_seconds = None  # fast_dev_run validates after its batches, not by time
    if overfit:
        limits["limit_train_batches"] = limits["limit_val_batches"] = overfit
    log_n = flags["log_every_n_steps"]
    # Any int, as under Lightning: 0 never writes step metrics, a negative one writes every step.
    log_n = 50 if log_n is None else _int("log_every_n_steps", log_n, -(2**63), "use an int.")
    if flags["barebones"]:
        log_n = sanity = 0
    accumulate = _int(
        "accumulate_grad_batches",
        flags["accumulate_grad_batches"],
        1,
        "use an int >= 1 (the number of batches per optimizer step).",
    )
    clip_val, clip_algo = _clipping(flags["gradient_clip_val"], flags["gradient_clip_algorithm"])
    if flags["deterministic"] not in _DETERMINISTIC:
        raise _fail("deterministic", flags["deterministic"], "use True, False or 'warn'.")
    reload_n = _int(
        "reload_dataloaders_every_n_epochs",
        flags["reload_dataloaders_every_n_epochs"],
        0,
        "use an int >= 0 (0 loads them once).",
    )
    return Plan(
        max_epochs=max_epochs,
        min_epochs=min_epochs,
        max_steps=max_steps,
        min_steps=min_steps,
        max_time=parse_max_time(flags["max_time"]),
        **limits,
        overfit_batches=overfit,
        val_check_interval=vci,
        val_check_time=vci_seconds,
        check_val_every_n_epoch=every,
        num_sanity_val_steps=sanity,
        log_every_n_steps=log_n,
        accumulate_grad_batches=accumulate,
        gradient_clip_val=clip_val,
        gradient_clip_algorithm=clip_algo,
        deterministic=flags["deterministic"],
        benchmark=flags["benchmark"],
        inference_mode=bool(flags["inference_mode"]),
        use_distributed_sampler=bool(flags["use_distributed_sampler"]),
        detect_anomaly=bool(flags["detect_anomaly"]),
        reload_dataloaders_every_n_epochs=reload_n,
        fast_dev_run=fast_dev_run,
        barebones=bool(flags["barebones"]),
        **_switches(flags),
    )


def _clipping(value: Any, algorithm: Any) -> tuple[float | None, str | None]:
    """The clipping value and algorithm; an algorithm left as None stays None (Lightning's reading:
    ``configure_gradient_clipping`` receives None and clipping by norm is what it does then)."""
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0
    ):
        raise _fail("gradient_clip_val", value, "use a number >= 0, or None for no clipping.")
    if algorithm not in (None, "norm", "value"):
        raise _fail("gradient_clip_algorithm", algorithm, "use 'norm' or 'value'.")
    return (float(value) if value else None), algorithm
