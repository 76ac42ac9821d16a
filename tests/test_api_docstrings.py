"""Every public name has a docstring with an example; docs/api.md lists them all; doctests pass.

Regenerate the reference after adding names: `python tests/test_api_docstrings.py --write`.
"""
import doctest
import importlib
import inspect
import pkgutil
import sys
from pathlib import Path

import autodiff

ROOT = Path(__file__).resolve().parents[1]
API_MD = ROOT / "docs" / "api.md"
NAMESPACES = ["autodiff", "autodiff.autograd", "autodiff.optim", "autodiff.nn"]


def public_names(module) -> list:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")
                 and not inspect.ismodule(getattr(module, n))]
    return sorted(names)


def public_api() -> dict:
    """Qualified name -> object, for every namespace's public names and Tensor's methods."""
    api = {}
    for modname in NAMESPACES:
        module = importlib.import_module(modname)
        prefix = modname.replace("autodiff", "ad", 1)
        for name in public_names(module):
            obj = getattr(module, name)
            if inspect.ismodule(obj) or type(obj).__module__ == "numpy":
                continue  # submodules are documented by their own names; np dtypes by NumPy
            if isinstance(obj, type) and obj.__module__ == "numpy":
                continue
            api[f"{prefix}.{name}"] = obj
    for name in dir(autodiff.Tensor):
        if not name.startswith("_"):
            api[f"Tensor.{name}"] = inspect.getattr_static(autodiff.Tensor, name)
    return api


def first_line(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def render() -> str:
    lines = ["# API reference", "",
             "Generated from the docstrings by `python tests/test_api_docstrings.py --write`;",
             "`tests/test_api_docstrings.py` fails when this list and the code disagree.", ""]
    for qualname, obj in sorted(public_api().items()):
        lines.append(f"- `{qualname}` — {first_line(obj)}")
    return "\n".join(lines) + "\n"


def test_top_level_namespace_declares_all():
    assert isinstance(getattr(autodiff, "__all__", None), list), "autodiff.__all__ is missing"
    missing = [n for n in autodiff.__all__ if not hasattr(autodiff, n)]
    assert not missing, f"autodiff.__all__ names that do not exist: {missing}"


def test_every_public_name_has_a_docstring_with_an_example():
    lacking = [q for q, obj in public_api().items() if ">>>" not in (inspect.getdoc(obj) or "")]
    assert not lacking, f"{len(lacking)} public names lack a docstring with a >>> example: {lacking}"


def test_api_reference_is_in_sync():
    assert API_MD.read_text() == render(), (
        "docs/api.md is out of date: run `python tests/test_api_docstrings.py --write`")


def test_docstring_examples_pass():
    """doctest over every module of the imported (installed or in-tree) package."""
    modules = [autodiff] + [importlib.import_module(m.name) for m in
                            pkgutil.walk_packages(autodiff.__path__, "autodiff.")]
    attempted, failures = 0, []
    for module in modules:
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        attempted += result.attempted
        if result.failed:
            failures.append(module.__name__)
    assert attempted > 50, f"only {attempted} doctest examples found"
    assert not failures, f"doctest failures in {failures} (run pytest -s to see them)"


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        API_MD.write_text(render())
        print(f"wrote {API_MD}")
    else:
        print(render())
