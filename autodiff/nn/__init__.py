"""``ad.nn``: ``Module``, ``Parameter``, layers and ``functional`` (PyTorch's names).

>>> import autodiff as ad
>>> net = ad.nn.Sequential(ad.nn.Linear(2, 3), ad.nn.Tanh(), ad.nn.Linear(3, 1))
>>> loss = ad.nn.functional.mse_loss(net(ad.ones((4, 2))), ad.zeros((4, 1)))
>>> loss.backward()
>>> net[0].weight.grad.shape
(3, 2)
"""
from . import functional  # noqa: F401
from .modules import (  # noqa: F401
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Dropout, GELU, Identity, L1Loss, LeakyReLU,
    Linear, LogSoftmax, Module, MSELoss, NLLLoss, Parameter, ReLU, Sequential, Sigmoid, Softmax,
    Softplus, Tanh,
)

__all__ = ["functional", "Module", "Parameter", "Linear", "Sequential", "Identity", "ReLU",
           "LeakyReLU", "GELU", "Tanh", "Sigmoid", "Softplus", "Softmax", "LogSoftmax",
           "Dropout", "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
           "BCEWithLogitsLoss"]
