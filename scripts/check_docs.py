#!/usr/bin/env python3
"""The docs hold together: every relative link in README.md and docs/*.md names a file of the
repository (and, with #anchor, one of its headings), and every command block names only
repository files that exist. No document points outside the repository.
   scripts/check_docs.py [ROOT]"""

import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent)
docs = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
TOP = ("bench/", "cmake/", "docs/", "examples/", "fuzz/", "include/", "python/", "scripts/",
       "src/", "tests/", "tools/")
problems = []


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: pathlib.Path) -> set:
    found, in_code = set(), False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
    return found


for doc in docs:
    text = doc.read_text()
    name = doc.relative_to(root)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # http:, https:, mailto:
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists():
            problems.append(f"{name}: link to {target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            problems.append(f"{name}: link to {target}: no such heading")
        elif root.resolve() not in file.resolve().parents and file.resolve() != root.resolve():
            problems.append(f"{name}: link to {target}: outside the repository")
    in_block = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_block = line.strip() in ("```sh", "```bash", "```cmake")
            continue
        if not in_block:
            continue
        for token in re.findall(r"[\w./-]+", line):
            token = token.rstrip(".")
            if token.startswith(TOP) and "*" not in token and not (root / token).exists():
                problems.append(f"{name}: command names {token}, which does not exist")

for p in problems:
    print(p)
print(f"{len(docs)} documents checked, {len(problems)} problems")
sys.exit(1 if problems else 0)
