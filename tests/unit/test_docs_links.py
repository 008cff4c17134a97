"""Every path the repository cites exists in the repository.

Comments, docstrings and Markdown point readers at docs/ pages. A reference to a
page that was renamed, or to a file kept outside the repository (the engineers'
shared notes), leaves a reader with nothing to follow, so it fails here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THIS_FILE = Path(__file__).resolve()

# Directories that are not the project's own text (tools, caches, generated data,
# mutmut's working copy).
SKIPPED_DIRS = {"node_modules", "__pycache__", "data", "mutants"}

# Files that live outside the repository; citing them is always a dead end.
OUTSIDE = ("DOMAIN" + ".md", "DESIGN" + ".md", "../" + "shared", "/work/" + "shared")

# `docs/ledger.md` or `docs/ledger.md#invariants`, not part of a longer path.
DOCS_REFERENCE = re.compile(r"(?<![\w./-])(docs/[\w./-]*?\.md)(#[\w-]+)?")
# A Markdown link's target: [text](target).
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def project_files(root: Path) -> Iterator[Path]:
    """The *.py and *.md files of the project (hidden directories and caches skipped)."""
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in sorted(files):
            if name.endswith((".py", ".md")):
                yield Path(directory) / name


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces → '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a Markdown page (repeated headings get -1, -2 …)."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    in_code = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_code = not in_code
            continue
        match = None if in_code else HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def _check_target(root: Path, source: Path, target: Path, anchor: str | None) -> str | None:
    where = source.relative_to(root)
    if not target.resolve().is_relative_to(root.resolve()):
        return f"{where}: {target} is outside the repository"
    if not target.is_file():
        return f"{where}: {target.relative_to(root) if target.is_relative_to(root) else target}"
    if anchor and target.suffix == ".md" and anchor not in anchors(target):
        return f"{where}: no heading for #{anchor} in {target.relative_to(root)}"
    return None


def broken_references(root: Path, skip: frozenset[Path] = frozenset()) -> list[str]:
    """One line per citation that leads nowhere: a missing docs/ page or heading, a
    Markdown link to a missing file, or a mention of a file outside the repository."""
    problems: list[str] = []
    for path in project_files(root):
        if path.resolve() in skip:
            continue
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(root)
        for outside in OUTSIDE:
            if outside in text:
                problems.append(f"{where}: cites {outside}, which is not in the repository")
        if path.suffix == ".md":
            for link in MARKDOWN_LINK.findall(text):
                if re.match(r"^[a-z][a-z0-9+.-]*:", link):  # http:, mailto: …
                    continue
                file_part, _, anchor = link.partition("#")
                target = (path.parent / file_part) if file_part else path
                problem = _check_target(root, path, target, anchor or None)
                if problem:
                    problems.append(problem)
            # What remains are repository-relative mentions in the prose.
            text = MARKDOWN_LINK.sub("]()", text)
        for page, anchor in DOCS_REFERENCE.findall(text):
            problem = _check_target(root, path, root / page, anchor.lstrip("#") or None)
            if problem:
                problems.append(problem)
    return problems


def test_every_cited_path_exists_in_the_repository():
    assert broken_references(ROOT, frozenset({THIS_FILE})) == []


def test_the_docs_pages_are_indexed():
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md") if p.name != "README.md")
    assert pages, "docs/ holds the definitions"
    assert [p for p in pages if f"]({p})" not in index] == []


def test_a_broken_citation_is_reported(tmp_path: Path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "ledger.md").write_text(
        "# The ledger\n\n```\n# not a heading\n```\n\n## Lots: pending, available\n",
        encoding="utf-8",
    )
    (tmp_path / "docs" / "README.md").write_text(
        "[ledger](ledger.md#lots-pending-available) [gone](tiers.md) [web](https://x.org)\n",
        encoding="utf-8",
    )
    (tmp_path / "good.py").write_text(
        '"""See docs/ledger.md#the-ledger and docs/ledger.md."""\n', encoding="utf-8"
    )
    (tmp_path / "bad.py").write_text(
        "# See docs/rules.md, docs/ledger.md#not-a-heading and " + OUTSIDE[0] + ".\n",
        encoding="utf-8",
    )
    (tmp_path / "README.md").write_text(
        "Notes in [shared](" + OUTSIDE[2] + "/x.md); the [index](docs/README.md).\n",
        encoding="utf-8",
    )
    assert sorted(broken_references(tmp_path)) == sorted(
        [
            f"bad.py: cites {OUTSIDE[0]}, which is not in the repository",
            f"bad.py: {Path('docs/rules.md')}",
            f"bad.py: no heading for #not-a-heading in {Path('docs/ledger.md')}",
            f"docs/README.md: {Path('docs/tiers.md')}",
            f"README.md: cites {OUTSIDE[2]}, which is not in the repository",
            f"README.md: {tmp_path / OUTSIDE[2] / 'x.md'} is outside the repository",
        ]
    )
