"""The differences from Lightning that plkit keeps on purpose, each explained in docs/differences.md.

A difference found by the comparer passes only if an entry here matches it: the scenario's name
and the difference's path (``entry_points/0/state/global_step``, ``hooks``, ``stdout``) against
the entry's ``fnmatch`` patterns. Every entry names the paragraph of ``docs/differences.md`` that
explains it (checked by ``test_expected_differences.py``); nothing else may differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class Expected:
    """One kept difference: where it shows (scenario and path patterns) and where it is explained."""

    name: str
    anchor: str  # the heading id in docs/differences.md, e.g. "exact-resume-from-any-step"
    paths: tuple[str, ...]
    scenarios: tuple[str, ...] = ("*",)
    # A regular expression: with it, the entry excuses single console lines instead of whole
    # paths: the lines of ``paths`` ("stdout", "stderr") it matches in full are dropped from
    # both traces before they are compared (``drop_expected_lines``).
    lines: str = ""

    def matches(self, scenario: str, path: str) -> bool:
        if self.lines:
            return False  # it excuses lines, not whole paths
        return self.applies_to(scenario) and any(fnmatchcase(path, p) for p in self.paths)

    def applies_to(self, scenario: str) -> bool:
        return any(fnmatchcase(scenario, s) for s in self.scenarios)


EXPECTED: tuple[Expected, ...] = (
    # -- area A (hooks, loops and entry points) --------------------------------------------------
    Expected(
        name="validation-keeps-the-training-rng",
        anchor="validation-keeps-the-training-rng",
        paths=("notes/rng_after_fit_*",),
        scenarios=("s016_*",),
    ),
    Expected(
        name="trains-nothing-warns",
        anchor="trains-nothing-warns",
        paths=("warnings/*", "warnings"),
        scenarios=("s119_*",),
    ),
    Expected(
        name="misspelt-hooks-warn",
        anchor="misspelt-hooks-warn",
        paths=("warnings/*", "warnings"),
        scenarios=("s117_*",),
    ),
    # -- area C (console: progress bars, messages, model summary, warnings) ----------------------
    Expected(
        name="no-lightning-product-tips",
        anchor="no-tips-for-lightning-products",
        paths=("stdout", "stderr"),
        lines=r"💡 Tip: For seamless cloud .* try installing \[(litlogger|litmodels)\].*",
    ),
    Expected(
        name="torch-profiler-console-lines",
        anchor="torch-profiler-console-lines",
        paths=("stdout", "stderr"),
        scenarios=("s129_*",),
        lines=r"(USDT:\S+ \S+ \d+:\d+ \S+\] profiler_(start|stop)|\[W\d+ \S+ collection\.cpp:\d+\] Warning: .*)",
    ),
    # -- area B (self.log, loggers, hyper-parameters) -------------------------------------------
    Expected(
        name="hparams-stored-by-import-path",
        anchor="hparams-stored-by-import-path",
        paths=(
            "artifacts/checkpoints/*/hyper_parameters/*",
            "notes/load_error",
            "notes/load_with_backbone_error",
            "notes/loaded_*",
            "notes/same_output",
        ),
        scenarios=("s032_*", "s033_*"),
    ),
    Expected(
        name="dropped-saved-hparams-warn",
        anchor="dropped-saved-hparams-warn",
        paths=("warnings/*", "warnings"),
        scenarios=("s038_*",),  # loads a checkpoint saved by another class
    ),
    Expected(
        name="csv-reused-version-keeps-rows",
        anchor="csv-reused-version-keeps-rows",
        paths=("warnings/*", "artifacts/csv/reused/*"),
        scenarios=("s028_*",),
    ),
    Expected(
        name="hparams-yaml-loads-safely",
        anchor="hparams-yaml-loads-safely",
        paths=("artifacts/yaml/*hparams.yaml",),
        scenarios=("s032_*", "s033_*"),
    ),
    # -- area D (checkpoints and the built-in callbacks) -----------------------------------------
    Expected(
        name="last-ckpt-holds-the-latest-state",
        anchor="last-ckpt-is-the-latest-state",
        paths=("artifacts/checkpoints/*last.ckpt/*", "notes/last_epoch", "notes/last_global_step"),
        scenarios=("s058_*", "s061_*", "s064_*"),
    ),
    Expected(
        name="exact-resume-state-inside-lightnings-loops",
        anchor="exact-resume-from-any-step",
        paths=("notes/loops/fit_loop/state_dict*",),
        scenarios=("s066_*",),
    ),
    # -- cbA: issue 18.4A callbacks --------------------------------------------------------------
    Expected(
        name="on-exception-checkpoint-resumes-exactly",
        anchor="exact-resume-from-any-step",
        # the failure is mid-epoch: plkit's resumed run equals the uninterrupted one, Lightning's
        # does not (and warns that the loader is not resumable)
        paths=(
            "weights/*",
            "entry_points/0/state/callback_metrics/*",
            "entry_points/0/state/logged_metrics/*",
            "notes/resumed_equals_uninterrupted",
            "warnings/2/*",
            "warnings/<length>",
        ),
        scenarios=("s142_*",),
    ),
    Expected(
        name="mid-epoch-resume-is-exact",
        anchor="exact-resume-from-any-step",
        # resumed from a checkpoint saved inside an epoch: plkit goes on from the next batch,
        # Lightning restarts the epoch's loader (and warns); the loop counters are the same
        paths=(
            "artifacts/checkpoints/resumed_*",
            "notes/resumed_*_equals_uninterrupted",
            "warnings/1/*",
            "warnings/<length>",
        ),
        scenarios=("s175_*",),
    ),
    # -- area E (optimization, precision, exceptions, public module paths) ---------------------
    Expected(
        name="misconfiguration-also-valueerror-typeerror",
        anchor="misconfiguration-is-also-a-valueerror",
        # the class (mro/0) still has to match; only the bases after it differ
        paths=("*mro/1", "*mro/2", "*mro/3", "*mro/<length>", "notes/MisconfigurationException/1"),
    ),
    # -- issue 18, item 4 B (weight averaging, finetuning, pruning callbacks) --------------------
    Expected(
        name="finetuning-resume-trains-the-backbone",
        anchor="finetuning-resume-trains-the-backbone",
        paths=("notes/resumed_requires_grad/*", "notes/resumed_weights/*"),
        scenarios=("s148_*",),
    ),
    Expected(
        name="pruning-resume-keeps-the-masks",
        anchor="pruning-resume-keeps-the-masks",
        paths=("notes/resumed_weights/*", "artifacts/checkpoints/*/callbacks/ModelPruning"),
        scenarios=("s149_*",),
    ),
    Expected(
        name="cli-trainer-arguments",
        anchor="cli-trainer-arguments",
        paths=("notes/*.trainer/resume",),
        scenarios=("s135_*", "s136_*", "s137_*", "s138_*", "s139_*", "s166_*", "s168_*"),
    ),
    Expected(
        name="time-based-val-check-interval",
        anchor="time-based-val-check-interval",
        paths=("entry_points/*/state/val_check_interval",),
        scenarios=("s165_*",),
    ),
    Expected(
        name="flag-errors-when-the-trainer-is-built",
        anchor="flag-errors-before-the-run",
        paths=("notes/accumulate_zero", "notes/check_val_zero", "notes/callbacks_not_callback"),
        scenarios=("s090_*",),
    ),
    # -- remote storage (fsspec) ------------------------------------------------------------------
    Expected(
        name="remote-last-checkpoint",
        anchor="remote-last-checkpoint",
        paths=(
            "entry_points/1/*",
            "bars",
            "warnings",
            "warnings/*",
            "notes/ckpt_path",
            "weights/*",
            "stderr",
        ),
        scenarios=("s121_*",),
    ),
    Expected(
        name="remote-package-checked-when-built",
        anchor="remote-package-checked-when-built",
        paths=("stderr",),
        scenarios=("s123_*",),
        lines=r"(GPU|TPU) available: .*",
    ),
)


def excused(scenario: str, path: str) -> Expected | None:
    """The entry that explains a difference at ``path`` in ``scenario``, if any."""
    return next((e for e in EXPECTED if e.matches(scenario, path)), None)


def drop_expected_lines(scenario: str, trace: dict) -> dict:
    """``trace`` without the console lines that entries with ``lines`` excuse in ``scenario``."""
    out = dict(trace)
    for entry in EXPECTED:
        if not entry.lines or not entry.applies_to(scenario):
            continue
        pattern = re.compile(entry.lines)
        for path in entry.paths:
            if isinstance(out.get(path), list):
                out[path] = [x for x in out[path] if not pattern.fullmatch(str(x))]
    return out


__all__ = ["EXPECTED", "Expected", "drop_expected_lines", "excused"]
