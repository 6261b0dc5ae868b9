"""Every code block of the user docs runs, so that no example drifts from the product.

The pages: README.md, docs/*.md, bindings/python/README.md, plugins/gimp/README.md and
training/README.md (HISTORY.md is a record, not instructions). Each fenced block runs by its
language:

- ```sh: bash -e -o pipefail, from the repository root;
- ```python: the page's Python blocks in order, in one interpreter and one namespace (a
  later block may use what an earlier one made), from the repository root, with
  bindings/python importable;
- ```c: compiled with -Wall -Wextra -Werror against include/ and .build/release, then run
  from the repository root; a fragment without `main` is the body of `main` (its #include
  lines go on top, after <stdio.h> and <stdlib.h>);
- ```plan: a plan (docs/plan.md), which the engine must accept and print back unchanged.

A block that cannot run says so, and why, in an HTML comment on the line before it:
`<!-- not run: REASON -->`. Any other block, with or without a language, fails the test.

Blocks run with HOME set to an empty folder (so `~/...` is a scratch place), with
.venv/bin first on PATH (the docs' `python` is the environment of `scripts/setup`), and with
no PONDER_* variables. What a block writes at the top of the repository is removed after
it, and a block must leave every tracked file as it found it.
"""
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bindings" / "python" / "README.md",
         ROOT / "plugins" / "gimp" / "README.md", ROOT / "training" / "README.md"]
MARKER = re.compile(r"^<!-- not run: (.*\S.*) -->$")
FENCE = re.compile(r"^(\s*)```(.*)$")
RUNNABLE = {"sh", "python", "c", "plan"}
TIMEOUT = 600


@dataclass
class Block:
    page: Path
    line: int  # of the opening fence, from 1
    language: str
    text: str
    skip_reason: str | None

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks_of(page: Path) -> list[Block]:
    lines = page.read_text().split("\n")
    found, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, language = m.group(1), m.group(2).strip()
        start, body = i, []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        if i == len(lines):
            raise AssertionError(f"{page.relative_to(ROOT)}:{start + 1}: a code block is never closed")
        before = next((lines[k].strip() for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        marker = MARKER.match(before)
        found.append(Block(page, start + 1, language, "\n".join(body) + "\n", marker.group(1) if marker else None))
        i += 1
    return found


BLOCKS = [b for page in PAGES for b in blocks_of(page)]


def test_the_pages_have_blocks_and_every_marker_marks_a_block():
    assert len(BLOCKS) > 20 and all(p.is_file() for p in PAGES)
    for page in PAGES:
        lines = page.read_text().split("\n")
        for n, line in enumerate(lines):
            if "<!-- not run" in line:
                assert MARKER.match(line.strip()), f"{page.relative_to(ROOT)}:{n + 1}: write <!-- not run: REASON -->"
                following = next((l for l in lines[n + 1:] if l.strip()), "")
                assert FENCE.match(following), f"{page.relative_to(ROOT)}:{n + 1}: a marker with no code block after it"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.skip_reason is None], ids=lambda b: b.name)
def test_every_block_is_runnable_or_says_why_not(block):
    assert block.language in RUNNABLE, (
        f"{block.name}: a ```{block.language} block; give it a runnable language "
        f"({', '.join(sorted(RUNNABLE))}) or put <!-- not run: REASON --> before it")


# --- running ------------------------------------------------------------------------------


@pytest.fixture
def sandbox(tmp_path):
    """The environment a block runs in; afterwards, what it left at the top of the repository
    goes, and tracked files must be as they were."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PONDER_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), PATH=f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}")
    before_entries = set(os.listdir(ROOT))
    before_tracked = tracked_state()
    yield env
    for name in set(os.listdir(ROOT)) - before_entries:
        path = ROOT / name
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    assert tracked_state() == before_tracked, "a block changed tracked files:\n" + git("diff", "--stat")


def git(*args) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def tracked_state() -> str:
    """The content of every tracked file that differs from the last commit, as git hashes it."""
    changed = git("diff", "--name-only", "HEAD").split()
    return "\n".join(f"{f} {git('hash-object', f).strip() if (ROOT / f).exists() else 'deleted'}" for f in changed)


def run(args, env, what, **kwargs):
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT, **kwargs)
    assert result.returncode == 0, f"{what} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.language == "sh" and b.skip_reason is None],
                         ids=lambda b: b.name)
def test_sh_block_runs(block, sandbox):
    run(["bash", "-e", "-o", "pipefail", "-c", block.text], sandbox, block.name)


# Each block runs in the shared namespace; a failure names its block.
PYTHON_SESSION = """
import sys, traceback
namespace = {"__name__": "__main__"}
for name, code in BLOCKS:
    try:
        exec(compile(code, name, "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        sys.exit(f"{name} failed")
"""


@pytest.mark.parametrize("page", [p for p in PAGES if any(b.page == p and b.language == "python" and b.skip_reason is None
                                                          for b in BLOCKS)],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(page, sandbox):
    blocks = [(b.name, b.text) for b in BLOCKS if b.page == page and b.language == "python" and b.skip_reason is None]
    sandbox["PYTHONPATH"] = str(ROOT / "bindings" / "python")
    run([sys.executable, "-c", f"BLOCKS = {blocks!r}\n{PYTHON_SESSION}"], sandbox, str(page.relative_to(ROOT)))


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.language == "c" and b.skip_reason is None],
                         ids=lambda b: b.name)
def test_c_block_compiles_and_runs(block, sandbox, tmp_path):
    source = block.text
    if not re.search(r"\bmain\s*\(", source):
        includes = [l for l in source.split("\n") if l.startswith("#include")]
        body = [l for l in source.split("\n") if not l.startswith("#include")]
        source = "\n".join(["#include <stdio.h>", "#include <stdlib.h>", *includes, "int main(void) {", *body,
                            "return 0;", "}", ""])
    (tmp_path / "block.c").write_text(source)
    build = ROOT / ".build" / "release"
    run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", str(tmp_path / "block.c"), "-I", str(ROOT / "include"),
         "-L", str(build), "-lponder", f"-Wl,-rpath,{build}", "-o", str(tmp_path / "block")], sandbox, f"{block.name} (cc)")
    run([str(tmp_path / "block")], sandbox, block.name)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.language == "plan" and b.skip_reason is None],
                         ids=lambda b: b.name)
def test_plan_block_is_a_valid_plan(block):
    sys.path.insert(0, str(ROOT / "bindings" / "python"))
    import ponder
    with ponder.Model(ROOT / "models" / "ponder-shapes-q8_0.gguf").session(think=False) as s:
        s.plan("a circle")  # a plan is set after a prompt; plan validity does not depend on it
        s.set_plan(block.text)
        assert s.current_plan == block.text.strip()


# --- what the user docs do not say ---------------------------------------------------------

NOTEBOOK = [
    (re.compile(r"\b[Ss]ession \d"), "a numbered session of work"),
    (re.compile(r"\b[Rr]ound \d"), "a numbered round of work"),
    (re.compile(r"\bthis (?:project's |virtual |\d+-core |CI )*(?:machine|VM|CPU)\b"), "'this machine': name the machine"),
    (re.compile(r"\blent\b"), "which machine was lent"),
    (re.compile(r"\.\./shared\b"), "a file outside the repository"),
]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_user_docs_say_what_is_not_how_it_went(page):
    """History goes to HISTORY.md: no numbered sessions or rounds, no 'this machine'."""
    found = [f"{page.relative_to(ROOT)}:{n + 1}: {why}: {line.strip()[:100]}"
             for n, line in enumerate(page.read_text().split("\n")) for pattern, why in NOTEBOOK if pattern.search(line)]
    assert not found, "\n".join(found)
