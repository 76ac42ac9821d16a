"""Packaging: which autodiff is imported, version metadata, typing files shipped."""
import os
import re
import sys
from importlib import metadata
from pathlib import Path

import autodiff

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path(autodiff.__file__).resolve().parent


def test_installed_package_is_imported_when_expected():
    # .ci/run sets this when it runs the suite against the wheel in a fresh venv.
    if os.environ.get("AUTODIFF_EXPECT_INSTALLED") == "1":
        assert PACKAGE != REPO / "autodiff", f"imported the source tree: {PACKAGE}"
        assert str(PACKAGE).startswith(sys.prefix), f"{PACKAGE} is not in {sys.prefix}"
        assert metadata.version("autodiff") == autodiff.__version__


def test_version_has_a_single_source():
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?", autodiff.__version__)
    pyproject = (REPO / "pyproject.toml").read_text()
    assert re.search(r'^dynamic = \["version"\]', pyproject, re.M)
    assert re.search(r'^version = \{ attr = "autodiff.__version__" \}', pyproject, re.M)
    assert not re.search(r'^version = "', pyproject, re.M)


def test_typing_files_ship_with_the_package():
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "_core.pyi").is_file()


def test_compiled_core_is_the_one_imported():
    core = Path(autodiff._core.__file__)
    assert core.parent == PACKAGE
    assert core.suffix in (".so", ".pyd")
