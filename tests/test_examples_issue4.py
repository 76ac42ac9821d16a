"""The worked examples of issue 4 (PINN residual, WGAN-GP penalty) against finite differences."""
import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["pinn", "wgan_gp"])
def test_example_gradients_match_finite_differences(name, capsys):
    result = _load(name).main()
    assert result["worst"] < 1e-6
    assert "largest relative difference" in capsys.readouterr().out
