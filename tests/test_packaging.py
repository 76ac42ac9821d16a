"""Packaging: which autodiff is imported, version metadata, typing files shipped."""
import os
import re
import shutil
import subprocess
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


def _unbuilt_checkout(root: Path) -> Path:
    """A copy of the package's Python files, without the compiled core, under ``root``."""
    for src in PACKAGE.rglob("*.py"):
        dst = root / "autodiff" / src.relative_to(PACKAGE)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return root


def _import_error(cwd: Path, pythonpath: str = "") -> str:
    # -S: no site-packages (an installed autodiff there would be found); the failure
    # comes before autodiff imports NumPy
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    proc = subprocess.run([sys.executable, "-S", "-c", "import autodiff"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    return proc.stderr.strip().splitlines()[-1]


def test_import_of_an_unbuilt_checkout_says_how_to_build(tmp_path):
    message = _import_error(_unbuilt_checkout(tmp_path))
    assert "compiled core (autodiff/_core) is missing" in message
    assert "pip install ." in message and "build_ext --inplace" in message


def test_import_of_an_unbuilt_checkout_shadowing_an_install_says_so(tmp_path):
    # `pip install .` then `python` in the checkout: the unbuilt folder autodiff/ in the
    # current directory is imported instead of the installed package
    checkout = _unbuilt_checkout(tmp_path / "checkout")
    site = tmp_path / "site"
    (site / "autodiff").mkdir(parents=True)
    (site / "autodiff" / "__init__.py").write_text("")
    message = _import_error(checkout, str(site))
    assert str(checkout / "autodiff") in message and str(site / "autodiff") in message
    assert "shadows the installed package" in message and "another directory" in message
    assert "build_ext --inplace" in message and "pip install -e ." in message
    assert "circular import" not in message
