"""The list of kept differences is itself checked: every entry is explained in docs/differences.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from expected import EXPECTED

DOC = Path(__file__).resolve().parents[2] / "docs" / "differences.md"


def _anchors(markdown: str) -> set[str]:
    """Anchors a reader can link to: headings (mkdocs ids) and explicit ``{#id}`` / ``<a id>``."""
    out = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            text = line.lstrip("#").strip()
            explicit = re.search(r"\{#([\w-]+)\}", text)
            if explicit:
                out.add(explicit.group(1))
            slug = re.sub(r"[^\w\s-]", "", text.lower()).strip()
            out.add(re.sub(r"[\s]+", "-", slug))
    out.update(re.findall(r'<a id="([\w-]+)"', markdown))
    return out


@pytest.mark.parametrize("entry", EXPECTED, ids=[e.name for e in EXPECTED])
def test_each_expected_difference_is_explained(entry) -> None:
    assert entry.anchor in _anchors(DOC.read_text()), (
        f"expected difference {entry.name!r} points at #{entry.anchor}, which docs/differences.md "
        "does not have: add a paragraph with that anchor"
    )
    assert entry.paths, f"{entry.name}: name the trace paths it excuses"


def test_names_are_unique() -> None:
    names = [e.name for e in EXPECTED]
    assert len(names) == len(set(names))
