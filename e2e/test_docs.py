"""The documentation a user gets with the repository: the architecture page names exactly the targets of
Package.swift, and nothing links outside the repository."""
from __future__ import annotations

import re

from e2e.support import ROOT


def package_targets() -> set[str]:
    text = (ROOT / "Package.swift").read_text()
    return set(re.findall(r'\.(?:target|executableTarget|testTarget)\(\s*name:\s*"(\w+)"', text))


def documented_targets() -> set[str]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Targets", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(\w+)` \|", section, re.M))


def test_the_architecture_page_names_exactly_the_packages_targets():
    targets = package_targets()
    assert len(targets) >= 15, targets
    documented = documented_targets()
    assert documented == targets, f"only documented: {documented - targets}; only in Package.swift: {targets - documented}"


def test_the_readme_links_only_what_the_repository_holds():
    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme
    for link in re.findall(r"\]\(((?!https?:)[^)#]+)\)", readme):
        assert (ROOT / link).exists(), link
    # Every row of a table belongs to it: no blank line splits one.
    lines = readme.splitlines()
    for index, line in enumerate(lines[1:-1], start=1):
        if line == "" and lines[index - 1].startswith("|") and lines[index + 1].startswith("|"):
            raise AssertionError(f"a blank line splits a table at README line {index + 1}")
