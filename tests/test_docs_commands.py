"""Every command in the docs runs: the ```sh blocks of docs/**/*.md, executed in order as subprocesses.

Convention (stated in docs/index.md, "About these docs"):
- a fenced block tagged `sh` holds commands a reader types; every line is one command (a trailing
  backslash continues it); lines starting with `#` are comments;
- a command that must not run in a test (network, a long run, changes to the reader's machine)
  ends with `# not run: REASON`; those are counted and listed, never skipped silently;
- `ganzoo train` commands that run must limit the run with `--steps N`, N <= 20;
- a fenced block whose first line is `# file: PATH` is written to PATH (relative to the current
  folder) when the walk through the document reaches it, so a worked example's files exist before
  its commands run;
- shell blocks must be tagged `sh` (not bash/shell/console) so none escapes; untagged blocks are
  text (synopses such as `ganzoo train NAME [OPTIONS]`).

Each document runs in a fresh temporary folder with its own HOME and GANZOO_HOME and
GANZOO_OFFLINE=1 (nothing may download). `cd DIR` changes the folder for the following commands.
`pip install ...` runs through a shim that installs into a private folder on PYTHONPATH
(`--target`, without build isolation or dependencies, `-e` dropped) so the test environment
itself is never changed.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
NOT_RUN = re.compile(r"\s#\s*not run:\s*(.*)$")
FILE_MARK = re.compile(r"^(?:#|//|<!--)\s*file:\s*(\S+)")
FORBIDDEN_LANGS = {"bash", "shell", "console", "shell-session", "zsh", "shellsession"}
MAX_TRAIN_STEPS = 20
COMMAND_TIMEOUT = 900


@dataclass
class Step:
    kind: str  # "cmd" or "file"
    text: str  # the command, or the file's content
    line: int  # line in the document
    path: str = ""  # for files
    not_run: str | None = None  # reason, for commands not run


def parse(doc: Path) -> tuple[list[Step], list[str]]:
    """The document's steps in order, and problems with its blocks."""
    text = doc.read_text(encoding="utf-8")
    steps: list[Step] = []
    problems: list[str] = []
    for match in FENCE.finditer(text):
        lang, body = match.group(1).lower(), match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        first = body.splitlines()[0] if body.strip() else ""
        mark = FILE_MARK.match(first)
        if mark:
            steps.append(Step("file", body, line, path=mark.group(1)))
            continue
        if lang in FORBIDDEN_LANGS:
            problems.append(f"{doc.name}:{line}: tag shell blocks `sh` (so they are tested), not `{lang}`")
        if lang != "sh":
            continue
        pending = ""
        for offset, raw in enumerate(body.splitlines(), start=1):
            stripped = raw.strip()
            if not pending and (not stripped or stripped.startswith("#")):
                continue
            if stripped.endswith("\\"):
                pending += stripped[:-1] + " "
                continue
            command = pending + stripped
            pending = ""
            reason = None
            found = NOT_RUN.search(command)
            if found:
                reason = found.group(1).strip()
                command = command[: found.start()].rstrip()
                if not reason:
                    problems.append(f"{doc.name}:{line + offset}: '# not run:' needs a reason")
            steps.append(Step("cmd", command, line + offset, not_run=reason))
            if reason is None:
                problem = _long_run(command)
                if problem:
                    problems.append(f"{doc.name}:{line + offset}: {problem}")
    return steps, problems


def _long_run(command: str) -> str | None:
    try:
        words = shlex.split(command, comments=True)
    except ValueError as exc:
        return f"cannot parse {command!r}: {exc}"
    if words[:2] == ["ganzoo", "train"] and not any(w in ("-h", "--help") for w in words):
        steps = [int(words[i + 1]) for i, w in enumerate(words[:-1]) if w == "--steps" and words[i + 1].isdigit()]
        if not steps or steps[-1] > MAX_TRAIN_STEPS:
            return f"'{command}' trains longer than {MAX_TRAIN_STEPS} steps: add --steps N or '# not run: REASON'"
    return None


def text_block_commands(doc: Path) -> list[str]:
    """`ganzoo ...` lines inside blocks that are not `sh` (shown as text, so not run): reported, not run."""
    text = doc.read_text(encoding="utf-8")
    out = []
    for match in FENCE.finditer(text):
        lang, body = match.group(1).lower(), match.group(2)
        if lang == "sh" or FILE_MARK.match(body.splitlines()[0] if body.strip() else ""):
            continue
        line = text.count("\n", 0, match.start()) + 1
        out += [f"{doc.name}:{line + i}: {raw.strip()}" for i, raw in enumerate(body.splitlines(), start=1)
                if raw.strip().startswith("ganzoo ")]
    return out


def documents() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def with_commands() -> list[Path]:
    return [d for d in documents() if any(s.kind == "cmd" for s in parse(d)[0])]


PIP_SHIM = '''#!{python}
import os, sys
args = sys.argv[1:]
if args[:1] == ["install"]:
    rest = [a for a in args[1:] if a not in ("-e", "--editable")]
    args = ["install", "--target", os.environ["DOCS_TEST_SITE"], "--no-deps", "--no-build-isolation",
            "--upgrade", "--quiet", *rest]
os.execv(sys.executable, [sys.executable, "-m", "pip", *args])
'''


def environment(tmp: Path) -> dict[str, str]:
    shims = tmp / "shims"
    shims.mkdir()
    (shims / "pip").write_text(PIP_SHIM.format(python=sys.executable))
    (shims / "pip").chmod(0o755)
    site = tmp / "site"
    site.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GANZOO_", "PYTHON", "PIP_"))}
    env.update({
        "HOME": str(tmp / "home"),
        "GANZOO_HOME": str(tmp / "ganzoo-home"),
        "GANZOO_OFFLINE": "1",
        "PATH": os.pathsep.join([str(shims), str(Path(sys.executable).parent), env.get("PATH", "")]),
        "PYTHONPATH": str(site),
        "DOCS_TEST_SITE": str(site),
        "COLUMNS": "120",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    })
    (tmp / "home").mkdir()
    return env


def test_every_doc_block_follows_the_convention():
    problems = [p for doc in documents() for p in parse(doc)[1]]
    assert not problems, "\n".join(problems)


def test_the_docs_have_commands_and_mark_the_ones_not_run():
    counts = {doc.relative_to(DOCS).as_posix(): parse(doc)[0] for doc in with_commands()}
    run = sum(1 for steps in counts.values() for s in steps if s.kind == "cmd" and s.not_run is None)
    not_run = [(doc, s) for doc, steps in counts.items() for s in steps if s.kind == "cmd" and s.not_run]
    print(f"\n{run} documented commands are run; {len(not_run)} are marked not run:")
    for doc, step in not_run:
        print(f"  {doc}:{step.line}: {step.text}  ({step.not_run})")
    shown = [line for doc in documents() for line in text_block_commands(doc)]
    print(f"{len(shown)} `ganzoo` lines stand in text blocks (synopses, not run; tag a block `sh` to run it):")
    for line in shown:
        print(f"  {line}")
    assert {"index.md", "writing-plugins.md"} <= set(counts)
    assert run >= 10


@pytest.mark.slow
@pytest.mark.parametrize("doc", with_commands(), ids=lambda d: d.relative_to(DOCS).as_posix())
def test_documented_commands_run(doc: Path, tmp_path: Path, record_property):
    steps, problems = parse(doc)
    assert not problems, "\n".join(problems)
    env = environment(tmp_path)
    cwd = tmp_path / "work"
    cwd.mkdir()
    ran, skipped = 0, []
    for step in steps:
        if step.kind == "file":
            target = cwd / step.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(step.text, encoding="utf-8")
            continue
        if step.not_run is not None:
            skipped.append(f"{doc.name}:{step.line}: {step.text} ({step.not_run})")
            continue
        words = shlex.split(step.text, comments=True)
        if words[0] == "cd" and len(words) == 2:
            cwd = (cwd / words[1]).resolve()
            ran += 1
            assert cwd.is_dir(), f"{doc.name}:{step.line}: cd into a missing folder {words[1]}"
            continue
        started = time.perf_counter()
        result = subprocess.run(["bash", "-c", step.text], cwd=cwd, env=env, capture_output=True, text=True,
                                timeout=COMMAND_TIMEOUT)
        assert result.returncode == 0, (
            f"{doc.name}:{step.line}: `{step.text}` exited {result.returncode} after "
            f"{time.perf_counter() - started:.0f} s\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
        assert "Traceback" not in result.stderr, f"{doc.name}:{step.line}: `{step.text}`\n{result.stderr[-3000:]}"
        ran += 1
    record_property("commands_run", ran)
    record_property("commands_not_run", len(skipped))
    print(f"\n{doc.name}: {ran} commands run, {len(skipped)} not run:\n  " + "\n  ".join(skipped))
    assert ran > 0
