"""Every Fréchet distance, FID or KID the docs quote names the network whose features it was measured in.

Two small digit classifiers give numbers on different scales: `ganzoo eval`'s `digits` extractor
(FID, KID) and the test suite's judge (`ganzoo.testing.quality`, its own Fréchet distance); an
unlabelled figure invites comparing them (a default dcgan run is 27.8 by the judge and about 3 by the
extractor). A sentence or table row that gives such a figure must say "judge" or name an extractor;
a table's rows are covered by its header.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The pages that quote measured figures next to each other (metrics.md defines the measures themselves).
PAGES = sorted([*(ROOT / "docs" / "models").glob("*.md"), *(ROOT / "docs").glob("*.md"), ROOT / "README.md",
                *(ROOT / "plugins").glob("*/README.md")])
PAGES = [p for p in PAGES if p.name not in ("metrics.md", "cli.md")]
MEASURE = re.compile(r"Fréchet|Frechet|\bFID\b|\bFD\b|\bKID\b")
NAMED = re.compile(r"\bjudge\b|extractor|inception", re.IGNORECASE)
FIGURE = re.compile(r"\d")


def unnamed(text: str) -> list[str]:
    """Sentences and table rows with a figure and a measure, but no extractor named (tables: by their header)."""
    problems = []
    header_named = False
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        if lines and lines[0].lstrip().startswith("|"):
            header_named = bool(NAMED.search(lines[0]))
            header_measures = bool(MEASURE.search(lines[0]))
            for row in lines[2:]:
                if FIGURE.search(row) and (MEASURE.search(row) or header_measures) and not (
                        NAMED.search(row) or header_named):
                    problems.append(" ".join(row.split()))
            continue
        for sentence in re.split(r"(?<=[.;])\s+(?=[A-Z(`*!\[])", " ".join(block.split())):
            if MEASURE.search(sentence) and FIGURE.search(sentence) and not NAMED.search(sentence):
                problems.append(sentence)
    return problems


def test_the_check_finds_unlabelled_figures():
    assert unnamed("The Fréchet distance is 27.8 after 2500 steps.") == ["The Fréchet distance is 27.8 after 2500 steps."]
    assert unnamed("The judge's Fréchet distance is 27.8. FID 3.2 with the `digits` extractor.") == []
    table = "| steps | Fréchet to held-out |\n| --- | --- |\n| 500 | 118.9 |\n"
    assert unnamed(table) == ["| 500 | 118.9 |"]
    assert unnamed(table.replace("Fréchet", "judge FD")) == []
    assert unnamed("| measure | value |\n| --- | --- |\n| Fréchet distance (901 samples) | 27.8 |\n") == [
        "| Fréchet distance (901 samples) | 27.8 |"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_quoted_distance_names_its_extractor(page: Path):
    problems = unnamed(page.read_text(encoding="utf-8"))
    assert not problems, (f"{page.relative_to(ROOT)}: say whose features each figure is in (the test judge, "
                          "or `ganzoo eval`'s extractor):\n" + "\n".join(problems))
