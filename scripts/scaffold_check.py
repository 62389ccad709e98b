"""The `nox -s scaffold` check: a scaffolded plugin installs, lists, trains, resumes, samples and passes its tests.

    python scripts/scaffold_check.py [--name NAME] [--keep]

Steps, each a subprocess as a plugin author would run it:
  1. `ganzoo plugin new NAME --dir TMP/ganzoo-NAME`
  2. `pip install TMP/ganzoo-NAME` into the current environment (no build isolation, so no network)
  3. `ganzoo list --json` lists NAME, provided by ganzoo-NAME
  4. `ganzoo train NAME --steps 3`, then `--steps 5` on the same folder (resume), then `ganzoo sample`
  5. the plugin's own tests (`python -m pytest` in its folder)
  6. `pip uninstall ganzoo-NAME` (always, also after a failure)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class CheckFailed(Exception):
    pass


def run(args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    shown = " ".join(str(a) for a in args).replace(sys.executable, "python")
    print(f"$ {shown}", flush=True)
    started = time.perf_counter()
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True)
    print(f"  exit {result.returncode} in {time.perf_counter() - started:.1f} s", flush=True)
    if result.returncode != 0:
        raise CheckFailed(f"{shown} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result.stdout


def installed(dist: str) -> bool:
    result = subprocess.run([sys.executable, "-m", "pip", "show", "-q", dist], capture_output=True, text=True)
    return result.returncode == 0


def uninstall(dist: str) -> None:
    if installed(dist):
        run([sys.executable, "-m", "pip", "uninstall", "-y", "-q", dist])


def check(name: str, work: Path) -> None:
    ganzoo = [sys.executable, "-m", "ganzoo"]
    dist = "ganzoo-" + name.replace("_", "-")
    project = work / dist
    env = {**os.environ, "GANZOO_HOME": str(work / "ganzoo-home"), "COLUMNS": "200"}
    run([*ganzoo, "plugin", "new", name, "--dir", project], env=env)
    for rel in ("pyproject.toml", f"ganzoo_{name}/plugin.py", f"ganzoo_{name}/config.py", f"ganzoo_{name}/model.py",
                "tests/test_model.py", "README.md"):
        if not (project / rel).is_file():
            raise CheckFailed(f"the scaffold has no {rel}")
    try:
        run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", project], env=env)
        rows = json.loads(run([*ganzoo, "list", "--json"], env=env))
        row = next((r for r in rows if r["name"] == name), None)
        if row is None or row["plugin"] != dist or not row["implemented"]:
            raise CheckFailed(f"'ganzoo list' does not show {name} from {dist}: {row}")
        print(f"  listed: {row['name']} ({row['plugin']}@{row['version']}, {row['task']})")
        out = work / "run"
        run([*ganzoo, "train", name, "--steps", "3", "--batch-size", "16", "--out", out], env=env, cwd=work)
        run([*ganzoo, "train", name, "--steps", "5", "--batch-size", "16", "--out", out], env=env, cwd=work)
        steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
        if not steps or steps[-1] != 5:
            raise CheckFailed(f"the resumed run did not reach step 5: logged steps {steps}")
        grid = work / "grid.png"
        run([*ganzoo, "sample", out / "checkpoints" / "last.safetensors", "--n", "16", "--out", grid], env=env)
        if not grid.read_bytes().startswith(PNG_MAGIC):
            raise CheckFailed(f"{grid} is not a PNG file")
        tests = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], env=env, cwd=project)
        print("  " + (tests.strip().splitlines() or ["(no output)"])[-1])
    finally:
        uninstall(dist)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="scaffold_check", help="model name of the scaffolded plugin")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    dist = "ganzoo-" + args.name.replace("_", "-")
    uninstall(dist)  # a leftover of an interrupted check would make `plugin new` refuse the name
    work = Path(tempfile.mkdtemp(prefix="ganzoo-scaffold-"))
    started = time.perf_counter()
    try:
        check(args.name, work)
    except CheckFailed as exc:
        print(f"scaffold check FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"scaffold check passed in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
