"""SPEC §2 checks: detect_anomaly names the forward op; gradcheck catches wrong rules."""
import numpy as np
import pytest

import autodiff as ad
from autodiff.autograd import Function, GradcheckError


def test_detect_anomaly_names_forward_op():
    x = ad.tensor([0.0, 1.0], requires_grad=True)
    with ad.autograd.detect_anomaly():
        y = ad.sqrt(x) if hasattr(ad, "sqrt") else x ** 0.5
        with pytest.raises(RuntimeError, match=r"(?s)PowBackward0|SqrtBackward0.*nan") as info:
            y.sum().backward()
    msg = str(info.value)
    assert "nan" in msg.lower()
    assert "test_anomaly_gradcheck.py" in msg       # the forward call site is shown


def test_detect_anomaly_as_decorator_and_off_by_default():
    x = ad.tensor(0.0, requires_grad=True)
    (x ** 0.5).backward()                            # no check: nan/inf flows silently
    assert not np.isfinite(x.grad.item())

    @ad.autograd.detect_anomaly()
    def run():
        x.grad = None
        (ad.log(x) * 1.0).backward()

    with pytest.raises(RuntimeError, match="LogBackward0"):
        run()


class WrongSin(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ad.sin(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * ad.cos(x) * 1.01      # deliberately wrong by 1%


class RightSinWrongSecond(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ad.sin(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        # right value, wrong derivative of itself: cos(x) rebuilt as a constant plus x*0.5
        c = ad.tensor(np.cos(x.detach().numpy())) + (x - x.detach()) * 0.5
        return g * c


def test_gradcheck_passes_and_fails():
    x = ad.tensor([0.3, -1.2, 2.0], requires_grad=True)
    assert ad.autograd.gradcheck(lambda t: ad.sin(t) * t, (x,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        ad.autograd.gradcheck(WrongSin.apply, (x,))
    assert ad.autograd.gradcheck(WrongSin.apply, (x,), raise_exception=False) is False


def test_gradgradcheck_catches_wrong_second_derivative():
    x = ad.tensor([0.3, -1.2, 2.0], requires_grad=True)
    assert ad.autograd.gradcheck(RightSinWrongSecond.apply, (x,))
    assert ad.autograd.gradgradcheck(lambda t: ad.sin(t) * t, (x,))
    with pytest.raises(GradcheckError):
        ad.autograd.gradgradcheck(RightSinWrongSecond.apply, (x,))
