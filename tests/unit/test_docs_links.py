"""The README and docs/ hold together: every relative link (and its #anchor) leads to a
file and heading that exist, and the README carries the two commands CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A link, not an image: the stage page's screenshot is written by another test's run.
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^ *```.*?^ *```", re.S | re.M)
CODE = re.compile(FENCE.pattern + r"|`[^`\n]*`", re.S | re.M)


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings."""
    seen: dict[str, int] = {}
    out = set()
    for line in FENCE.sub("", path.read_text()).splitlines():
        if line.startswith("#"):
            slug = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def broken_links(path: Path) -> list[str]:
    bad = []
    text = CODE.sub("", path.read_text())
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not ours to check offline
        name, _, anchor = target.partition("#")
        dest = (path.parent / name).resolve() if name else path
        if not dest.exists():
            bad.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{target}: no such heading")
    return bad


def test_every_relative_link_in_the_readme_and_docs_leads_somewhere():
    bad = {str(p.relative_to(ROOT)): broken_links(p) for p in DOCS}
    assert not {k: v for k, v in bad.items() if v}


def test_the_readme_gives_the_two_commands_and_ci_runs_the_test_command():
    readme = (ROOT / "README.md").read_text()
    for line in (
        "scripts/run      # set up (first time) and run `liveai serve` with config/default.toml",
        "scripts/test     # set up (first time) and run the whole test suite",
    ):
        assert f"\n{line}\n" in readme, line
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith("\nscripts/test")
