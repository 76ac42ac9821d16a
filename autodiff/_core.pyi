# Type stub of the compiled engine (autodiff/_core.pyx).
# Check it against the built module with:
#     python -m mypy.stubtest autodiff._core --mypy-config-file pyproject.toml \
#         --allowlist .ci/stubtest-allowlist.txt
# After changing _core.pyx: rebuild (python setup.py build_ext --inplace), run
# the command above and add, change or remove the entries it reports.
# `python -m mypy.stubgen -m autodiff._core --inspect-mode -o /tmp/stub`
# prints an untyped skeleton of the current module to start from.
import threading
from collections.abc import Callable
from typing import Any, Final

from typing_extensions import disjoint_base

import numpy as np

SOURCE_HASH: Final[str]

JVP_NONE: Final[int]
JVP_ELEMENTWISE: Final[int]
JVP_LINEAR: Final[int]
JVP_MULTILINEAR: Final[int]
JVP_CUSTOM: Final[int]
JVP_MISSING: Final[int]
JVP_ZERO: Final[int]
PLAN_SOURCES: dict[str, int]

@disjoint_base
class Flags:
    grad_enabled: bool
    inference: bool
    fw_level: int
    fw_suspended: bool
    anomaly: bool
    anomaly_check_nan: bool
    fw_batch: int
    fw_gen: int

class _ThreadLocal(threading.local):
    flags: Flags
    def __init__(self) -> None: ...

def thread_state() -> Flags: ...
def is_grad_enabled() -> bool: ...
def set_grad_enabled_flag(flag: bool) -> None: ...

@disjoint_base
class VersionCounter:
    value: int
    grad_writes: int

def set_tensor_class(cls: type[TensorBase]) -> None: ...
def untracked_subclass(qualname: str, base: type[Any],
                       namespace: dict[str, Any] | None = None) -> type[Any]: ...
def make_node_class(name: str, base: type[Node]) -> type[Node]: ...
def set_jvp_batch_rules(rules: dict[Any, Any]) -> None: ...

@disjoint_base
class TensorBase:
    _data: Any  # an ndarray, or a NumPy scalar for 0-d op results until _array()
    _grad: TensorBase | None
    _grad_fn: Node | None
    _output_nr: int
    _requires_grad: bool
    _retains_grad: bool
    _accumulator_ref: Any
    _hooks: list[Any] | None
    _post_acc_hooks: list[Any] | None
    _fw_tangent: Any
    _base: TensorBase | None
    _view_of: tuple[Any, OpSpec, tuple[Any, ...]] | None
    def __add__(self, other: Any) -> Any: ...
    def __radd__(self, other: Any) -> Any: ...
    def __sub__(self, other: Any) -> Any: ...
    def __rsub__(self, other: Any) -> Any: ...
    def __mul__(self, other: Any) -> Any: ...
    def __rmul__(self, other: Any) -> Any: ...
    def __truediv__(self, other: Any) -> Any: ...
    def __rtruediv__(self, other: Any) -> Any: ...
    def __neg__(self) -> Any: ...
    def __matmul__(self, other: Any) -> Any: ...
    def __getitem__(self, key: Any, /) -> Any: ...
    def __rmatmul__(self, other: Any) -> Any: ...
    @property
    def grad(self) -> TensorBase | None: ...
    @grad.setter
    def grad(self, value: Any) -> None: ...
    @property
    def grad_fn(self) -> Node | None: ...
    @property
    def is_leaf(self) -> bool: ...
    @property
    def _version(self) -> int: ...
    @property
    def _version_counter(self) -> VersionCounter: ...
    @_version_counter.setter
    def _version_counter(self, value: VersionCounter) -> None: ...
    def _array(self) -> np.ndarray[Any, Any]: ...

def default_seed(data: Any) -> Any: ...
def same_dtype(a: Any, b: Any) -> bool: ...
def native_array(a: Any, dtype: Any) -> Any: ...
def track_hook(t: TensorBase, hook: Any) -> None: ...
def track(t: TensorBase) -> None: ...
def backward_default(t: Any) -> bool: ...
def broadcast_view(a: Any, shape: tuple[int, ...]) -> Any: ...
def make_tensor(data: Any, requires_grad: bool = False) -> Any: ...
def set_operator_ops(add: OpSpec, sub: OpSpec, mul: OpSpec, div: OpSpec, neg: OpSpec,
                     matmul: OpSpec | None = None,
                     getitem: Callable[[Any, Any], Any] | None = None) -> None: ...
def grad_accumulator(t: TensorBase) -> AccumulateGrad: ...
def _seq_order() -> tuple[int, bool]: ...
def _set_seq_order(last: int, ok: bool) -> None: ...

@disjoint_base
class Node:
    next_nodes: tuple[Node | None, ...]
    next_indices: tuple[int, ...]
    num_outputs: int
    _pre_hooks: dict[int, list[Any]] | None
    _retained: dict[int, Any] | None
    _anomaly_trace: str | None
    def name(self) -> str: ...
    @property
    def next_functions(self) -> tuple[tuple[Node | None, int], ...]: ...
    def apply(self, grads: list[Any], tensor_path: bool = False, batch_ndim: int = 0,
              needed: Any = None) -> list[Any]: ...
    def release(self) -> None: ...

class ZeroDerivative(Node): ...

@disjoint_base
class AccumulateGrad(Node):
    variable: TensorBase

# op name -> code of its float64-scalar kernel in the core
SCALAR_OPS: dict[str, int]

def set_vector_ops(stack: OpSpec, softmax: OpSpec, getitem: OpSpec) -> None: ...
def stack_scalars(tensors: Any, dim: Any) -> TensorBase | None: ...
def softmax_vector(x: Any, dim: Any) -> TensorBase | None: ...
def select(x: Any, index: Any) -> TensorBase | None: ...
def sync_view(t: TensorBase) -> None: ...

@disjoint_base
class OpSpec:
    name: str
    node_cls: type[OpNode]
    forward: Callable[..., Any]
    forward_direct: Callable[..., Any] | None
    n_inputs: int
    vjp_rules: tuple[Callable[..., Any] | None, ...]
    vjp_plans: tuple[tuple[tuple[int, int], ...], ...]
    vjp_pass: tuple[bool, ...] | None
    vjp_into: Callable[..., Any] | None
    needed_by: tuple[tuple[int, ...], ...]
    save_out: bool
    differentiable: bool
    n_outputs: int
    diff_outputs: tuple[bool, ...]
    jvp_kind: int
    jvp_rule: Callable[..., Any] | None
    jvp_plan: tuple[tuple[int, int], ...]
    batch_ok: bool
    view_of: int
    module_func: Callable[..., Any] | None
    node_variant: Any
    variant_by_ndim: bool
    node_classes: dict[str | int, type[OpNode] | None] | None
    scalar_op: int

@disjoint_base
class OpNode(Node):
    spec: OpSpec
    saved_data: tuple[Any, ...] | None
    saved_tensors_: tuple[TensorBase | None, ...] | None
    saved_versions: tuple[int, ...] | None
    @property
    def saved_out(self) -> Any: ...
    saved_out_tangent: Any
    saved_out_vcs: tuple[VersionCounter, ...] | None
    saved_out_versions: tuple[int, ...] | None
    params: tuple[Any, ...]
    in_shapes: tuple[tuple[int, ...], ...]
    in_dtypes: tuple[np.dtype[Any] | None, ...]
    freed: bool

@disjoint_base
class FunctionNode(Node):
    ctx: Any
    function_cls: Any
    in_shapes: tuple[tuple[int, ...], ...]
    in_dtypes: tuple[np.dtype[Any] | None, ...]
    out_shapes: tuple[tuple[int, ...], ...]
    out_dtypes: tuple[np.dtype[Any] | None, ...]
    freed: bool

@disjoint_base
class _Slot:
    value: Any
    owned: bool

def set_stack_function(fn: Callable[[list[Any]], Any]) -> None: ...
def set_sum_to_function(fn: Callable[[Any, tuple[int, ...], int], Any]) -> None: ...
def sum_to_shape(g: Any, shape: tuple[int, ...], batch_ndim: int) -> Any: ...
def set_anomaly_capture(fn: Callable[[], str] | None) -> None: ...
def dispatch(spec: OpSpec, inputs: tuple[Any, ...], params: tuple[Any, ...]) -> Any: ...
def dispatch_unary(spec: OpSpec, x: Any, params: tuple[Any, ...]) -> Any: ...
def run_backward(roots: tuple[Any, ...], root_grads: tuple[Any, ...], retain_graph: bool,
                 create_graph: bool, inputs: tuple[Any, ...] | None = None,
                 accumulate: bool = True, allow_unused: bool = False,
                 batch_ndim: int = 0) -> list[Any] | None: ...
