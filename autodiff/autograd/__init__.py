"""``autodiff.autograd``: reverse mode (``backward``, ``grad``), custom Functions, checks."""
from . import forward_ad, function  # noqa: F401
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .engine import backward, grad
from .function import Function, FunctionCtx, once_differentiable
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .variable import Variable

__all__ = [
    "backward", "grad", "Function", "FunctionCtx", "once_differentiable", "Variable",
    "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
    "detect_anomaly", "set_detect_anomaly", "gradcheck", "gradgradcheck", "GradcheckError",
    "forward_ad",
]
