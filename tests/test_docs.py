"""The docs: the generated config reference is current, and every relative link resolves."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _generator():
    spec = importlib.util.spec_from_file_location("gen_configs", ROOT / "docs" / "gen_configs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configs_md_is_up_to_date() -> None:
    page = ROOT / "docs" / "configs.md"
    assert page.read_text() == _generator().render(), "run: python docs/gen_configs.py"


def relative_links(page: Path) -> list[str]:
    """Targets of the markdown links in ``page`` that point into the repository."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    targets = [m.group(1) for m in LINK.finditer(text)]
    return [t for t in targets if not re.match(r"[a-z]+:|#", t)]


def test_relative_links_resolve() -> None:
    broken = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in PAGES
        for target in relative_links(page)
        if not (page.parent / target.split("#")[0]).exists()
    ]
    assert not broken, broken


def test_link_check_sees_links(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("[a](missing.md) ![b](img.png#x) [c](https://x.org) [d](#anchor)\n")
    assert relative_links(page) == ["missing.md", "img.png#x"]
