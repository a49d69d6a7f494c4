"""The code in the documentation runs, and says what the pages say it does.

A python block in ``docs/*.md`` is run when the line before its opening fence is a marker::

    <!-- run -->                          the block alone, as a script
    <!-- run session=NAME -->             the page's blocks with this NAME, joined in page order
    <!-- run prints="TEXT" -->            ...and its stdout must contain TEXT
    <!-- run raises="TEXT" -->            ...and it must fail with "ExceptionType: message"
                                          containing TEXT
    <!-- part-of session=NAME -->         not run: each line of it must appear in the session
                                          (a fragment of a longer script, kept in step with it)

Markers are HTML comments, so readers never see them. All snippets run in one fresh interpreter
(one ``import torch`` for all of them), each in a new namespace and its own empty working
folder, with its own stdout; the tests then check each result::

    python -m pytest tests/integration/test_docs_snippets.py -q
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>run|part-of)\b(?P<args>.*?)-->\s*$")
_ARG = re.compile(r'(\w+)="([^"]*)"|(\w+)=(\S+)')
# Pages whose examples must run: each needs at least one runnable block.
PAGES_WITH_RUNNABLE_CODE = {
    "callbacks.md",
    "cli.md",
    "checkpoints.md",
    "from-pytorch.md",
    "hooks.md",
    "loggers.md",
    "logging.md",
    "plcore-alone.md",
    "profilers.md",
    "quickstart.md",
    "trainer.md",
}


@dataclass
class Block:
    """One fenced python block and its marker."""

    page: str
    line: int
    kind: str
    args: dict[str, str]
    code: str


@dataclass
class Snippet:
    """What runs as one script: a lone block or a session's blocks joined."""

    id: str
    code: str
    prints: list[str] = field(default_factory=list)
    raises: str | None = None


def _marker_args(text: str) -> dict[str, str]:
    return {m[0] or m[2]: m[1] if m[0] else m[3] for m in _ARG.findall(text)}


def parse_page(path: Path) -> list[Block]:
    """The marked python blocks of one page, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, previous = [], ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == "```python":
            start, body = i + 1, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            marker = _MARKER.match(previous)
            if marker:
                args = _marker_args(marker["args"])
                code = "\n".join(body) + "\n"
                blocks.append(Block(path.name, start, marker["kind"], args, code))
        if line.strip():
            previous = line
        i += 1
    return blocks


def collect() -> tuple[list[Snippet], list[Block], dict[tuple[str, str], str]]:
    """Snippets to run, fragments to check, and each session's code by (page, session)."""
    snippets: list[Snippet] = []
    fragments: list[Block] = []
    sessions: dict[tuple[str, str], Snippet] = {}
    for path in sorted(DOCS.rglob("*.md")):
        for block in parse_page(path):
            if block.kind == "part-of":
                fragments.append(block)
                continue
            name = block.args.get("session")
            if name is None:
                snippet = Snippet(f"{block.page}:{block.line}", block.code)
                snippets.append(snippet)
            elif (block.page, name) in sessions:
                snippet = sessions[(block.page, name)]
                snippet.code += f"# --- {block.page}:{block.line}\n" + block.code
            else:
                snippet = Snippet(f"{block.page}:{name}", block.code)
                sessions[(block.page, name)] = snippet
                snippets.append(snippet)
            if "prints" in block.args:
                snippet.prints.append(block.args["prints"])
            if "raises" in block.args:
                snippet.raises = block.args["raises"]
    return snippets, fragments, {key: s.code for key, s in sessions.items()}


SNIPPETS, FRAGMENTS, SESSIONS = collect()

# Runs in the child interpreter: argv = [snippets.json, results.json, work folder].
_RUNNER = r"""
import io, json, os, sys, traceback, types

class _Out(io.TextIOBase):
    # sys.stdout for every snippet: log handlers created by one snippet keep writing to
    # whichever snippet is running, not to a buffer that is gone.
    def __init__(self):
        self.buffer_ = io.StringIO()
    def write(self, text):
        return self.buffer_.write(text)
    def writable(self):
        return True

snippets = json.load(open(sys.argv[1]))
out, results = _Out(), {}
sys.stdout = out
for index, snippet in enumerate(snippets):
    folder = os.path.join(sys.argv[3], f"snippet{index}")
    os.makedirs(folder)
    os.chdir(folder)
    out.buffer_ = io.StringIO()
    error = None
    try:
        code = compile(snippet["code"], snippet["id"], "exec")
        # a module of its own, as __main__: classes defined in the snippet pickle as in a script
        main = types.ModuleType("__main__")
        sys.modules["__main__"] = main
        exec(code, main.__dict__)
    except BaseException as err:  # SystemExit too: a snippet must not end the runner
        error = f"{type(err).__name__}: {err}"
        trace = traceback.format_exc()
    else:
        trace = ""
    results[snippet["id"]] = {"stdout": out.buffer_.getvalue(), "error": error, "trace": trace}
sys.stdout = sys.__stdout__
json.dump(results, open(sys.argv[2], "w"))
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str | None]]:
    """Run every snippet once, in one child interpreter."""
    folder = tmp_path_factory.mktemp("docs_snippets")
    source, target = folder / "snippets.json", folder / "results.json"
    source.write_text(json.dumps([vars(s) for s in SNIPPETS]))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
        and not key.startswith("SLURM_")
    }
    process = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(source), str(target), str(folder / "work")],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert process.returncode == 0 and target.exists(), process.stderr[-4000:]
    return json.loads(target.read_text())


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.id for s in SNIPPETS])
def test_snippet_runs_as_the_page_says(
    snippet: Snippet, results: dict[str, dict[str, str | None]]
) -> None:
    result = results[snippet.id]
    if snippet.raises is None:
        assert result["error"] is None, f"{snippet.id} failed:\n{result['trace']}"
    else:
        assert result["error"] is not None, f"{snippet.id} should fail with {snippet.raises!r}"
        assert snippet.raises in result["error"], result["trace"]
    for text in snippet.prints:
        assert text in result["stdout"], f"{snippet.id} did not print {text!r}:\n{result['stdout']}"


def _code_lines(code: str) -> list[str]:
    """Lines that carry code: stripped, without blanks, ``...`` and whole-line comments."""
    stripped = (line.strip() for line in code.splitlines())
    return [line for line in stripped if line and line != "..." and not line.startswith("#")]


@pytest.mark.parametrize("fragment", FRAGMENTS, ids=[f"{f.page}:{f.line}" for f in FRAGMENTS])
def test_fragment_is_part_of_its_runnable_session(fragment: Block) -> None:
    key = (fragment.page, fragment.args.get("session", ""))
    assert key in SESSIONS, f"{fragment.page}:{fragment.line} names no runnable session {key}"
    session = _code_lines(SESSIONS[key])
    # every line of the fragment appears in the session, in the same order
    position = 0
    for line in _code_lines(fragment.code):
        assert line in session[position:], f"{line!r} is not in session {key[1]!r} (in order)"
        position = session.index(line, position) + 1


def test_the_pages_that_teach_code_have_runnable_code() -> None:
    pages = {s.id.split(":")[0] for s in SNIPPETS}
    assert PAGES_WITH_RUNNABLE_CODE <= pages, sorted(PAGES_WITH_RUNNABLE_CODE - pages)


def test_markers_are_well_formed() -> None:
    for path in sorted(DOCS.rglob("*.md")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.match(r"^\s*<!--\s*(run|part-of)\b", line):
                assert _MARKER.match(line), f"{path.name}:{number}: malformed marker {line!r}"
                unknown = set(_marker_args(line)) - {"session", "prints", "raises"}
                assert not unknown, f"{path.name}:{number}: unknown marker keys {unknown}"


def test_every_page_is_in_the_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = config[config.index("\nnav:") :]
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    missing = sorted(page for page in pages if page not in nav)
    assert not missing, f"add these pages to mkdocs.yml's nav: {missing}"


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    """What ``nox -s docs`` runs: any warning (broken link, missing reference) fails."""
    pytest.importorskip("mkdocstrings", reason="the docs build needs mkdocs + mkdocstrings")
    pytest.importorskip("material", reason="the docs build needs mkdocs-material")
    process = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
