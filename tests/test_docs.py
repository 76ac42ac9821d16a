"""Run the ```python blocks of docs/*.md and README.md: each file top to bottom in one namespace."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def python_blocks(path: Path) -> list:
    return BLOCK.findall(path.read_text())


def test_user_guide_has_examples():
    assert len(python_blocks(ROOT / "docs" / "guide.md")) >= 12


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_doc_examples_run(path):
    namespace = {"__name__": f"docs_{path.stem}"}
    for i, code in enumerate(python_blocks(path)):
        # A block must check what it shows: an assert (or a doctest-style comparison).
        assert "assert" in code, f"{path.name} block {i} checks nothing:\n{code}"
        exec(compile(code, f"{path.name}[block {i}]", "exec"), namespace)
