"""The differences from Lightning that plkit keeps on purpose, each explained in docs/differences.md.

A difference found by the comparer passes only if an entry here matches it: the scenario's name
and the difference's path (``entry_points/0/state/global_step``, ``hooks``, ``stdout``) against
the entry's ``fnmatch`` patterns. Every entry names the paragraph of ``docs/differences.md`` that
explains it (checked by ``test_expected_differences.py``); nothing else may differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class Expected:
    """One kept difference: where it shows (scenario and path patterns) and where it is explained."""

    name: str
    anchor: str  # the heading id in docs/differences.md, e.g. "exact-resume-from-any-step"
    paths: tuple[str, ...]
    scenarios: tuple[str, ...] = ("*",)

    def matches(self, scenario: str, path: str) -> bool:
        return any(fnmatchcase(scenario, s) for s in self.scenarios) and any(
            fnmatchcase(path, p) for p in self.paths
        )


EXPECTED: tuple[Expected, ...] = ()


def excused(scenario: str, path: str) -> Expected | None:
    """The entry that explains a difference at ``path`` in ``scenario``, if any."""
    return next((e for e in EXPECTED if e.matches(scenario, path)), None)


__all__ = ["EXPECTED", "Expected", "excused"]
