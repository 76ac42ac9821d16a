# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The engine of autodiff: tensors' autograd state, graph nodes and backward.

The engine is math-blind. It knows nodes, edges, saved values and a rule to
call; every derivative formula lives in ``autodiff/ops``. Backward walks the
graph iteratively (the newest ready node first, by creation number), so graphs of
any depth run without recursion. All per-call state lives in locals of
``run_backward`` (PyTorch's GraphTask idea), so backward on independent graphs
from several threads is safe; the only global state is the thread-local grad
mode.
"""
import functools
import sys
import threading
import warnings

import numpy as np
cimport cython
from cpython.ref cimport Py_DECREF, Py_INCREF
from cpython.dict cimport PyDict_GetItem
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM, PyTuple_GET_ITEM
from cpython.weakref cimport PyWeakref_NewRef, PyWeakref_GetObject
from cpython.pythread cimport (PyThread_type_lock, PyThread_allocate_lock, PyThread_free_lock,
                               PyThread_acquire_lock, PyThread_release_lock,
                               PyThread_get_thread_ident, NOWAIT_LOCK, WAIT_LOCK)
cimport numpy as cnp

cdef extern from "Python.h":
    ctypedef struct PyThreadState:
        pass
    PyThreadState* PyThreadState_Get()
    unsigned long long PyThreadState_GetID(PyThreadState* tstate)

cnp.import_array()

cdef extern from *:
    """
    #ifndef AD_SOURCE_HASH
    #define AD_SOURCE_HASH "unknown"
    #endif
    """
    const char* AD_SOURCE_HASH

SOURCE_HASH = AD_SOURCE_HASH.decode("ascii")

# float64 NumPy scalars (np.float64) made and read in C: the values of 0-d results.
cdef extern from *:
    """
    static inline PyObject* ad_f64_new(double v) {
        PyObject* o = PyDoubleArrType_Type.tp_alloc(&PyDoubleArrType_Type, 0);
        if (o) PyArrayScalar_VAL(o, Double) = v;
        return o;
    }
    static inline int ad_is_f64(PyObject* o) { return Py_TYPE(o) == &PyDoubleArrType_Type; }
    static inline double ad_f64_val(PyObject* o) { return PyArrayScalar_VAL(o, Double); }
    /* A float64 scalar that only the caller's one reference holds: safe to update. */
    static inline int ad_f64_sole(PyObject* o) {
        return Py_TYPE(o) == &PyDoubleArrType_Type && Py_REFCNT(o) == 1;
    }
    static inline void ad_f64_iadd(PyObject* o, double d) { PyArrayScalar_VAL(o, Double) += d; }
    /* An array of ``d`` (a reference it steals) over memory of ``base`` at ``data``,
       which keeps ``base`` alive. */
    static PyObject* ad_view_of(PyArrayObject* base, PyArray_Descr* d, int nd, npy_intp* dims,
                                npy_intp* strides, void* data, int flags) {
        PyObject* v = PyArray_NewFromDescr(&PyArray_Type, d, nd, dims, strides, data, flags, NULL);
        if (!v) return NULL;
        Py_INCREF(base);
        if (PyArray_SetBaseObject((PyArrayObject*)v, (PyObject*)base) < 0) {
            Py_DECREF(v);
            return NULL;
        }
        return v;
    }
    /* A 0-d float64 view of the element at ``ptr`` of ``base`` (what base[i, ...] gives). */
    static PyObject* ad_f64_view0(PyArrayObject* base, char* ptr) {
        PyArray_Descr* d = PyArray_DescrFromType(NPY_DOUBLE);
        if (!d) return NULL;
        return ad_view_of(base, d, 0, NULL, NULL, ptr,
                          PyArray_FLAGS(base) & NPY_ARRAY_WRITEABLE);
    }
    /* A read-only view of ``a`` broadcast to the ``nd`` dims at ``dims`` (NumPy's rules);
       NULL with ValueError when the shapes do not broadcast. */
    static PyObject* ad_broadcast_view(PyArrayObject* a, int nd, npy_intp* dims) {
        npy_intp strides[64];   /* callers pass nd <= 64 */
        int k, an = PyArray_NDIM(a), lead = nd - an;
        if (lead < 0) goto bad;
        for (k = 0; k < nd; k++) {
            if (k < lead) { strides[k] = 0; continue; }
            if (PyArray_DIM(a, k - lead) == dims[k])
                strides[k] = dims[k] == 1 ? 0 : PyArray_STRIDE(a, k - lead);
            else if (PyArray_DIM(a, k - lead) == 1)
                strides[k] = 0;
            else goto bad;
        }
        Py_INCREF(PyArray_DESCR(a));
        return ad_view_of(a, PyArray_DESCR(a), nd, dims, strides, PyArray_DATA(a), 0);
    bad:
        PyErr_SetString(PyExc_ValueError, "broadcast_view: the shapes do not broadcast");
        return NULL;
    }
    """
    object _broadcast_view "ad_broadcast_view"(cnp.ndarray a, int nd, cnp.npy_intp* dims)
    object _f64_new "ad_f64_new"(double v)
    bint _is_f64 "ad_is_f64"(object o)
    double _f64_val "ad_f64_val"(object o)
    bint _f64_sole "ad_f64_sole"(PyObject* o)
    void _f64_iadd "ad_f64_iadd"(PyObject* o, double d)
    object _f64_view0 "ad_f64_view0"(cnp.ndarray base, char* ptr)

from libc.math cimport sin, cos, exp, log, tanh, sqrt, expm1, log1p, fabs
from libc.stdlib cimport realloc, free
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_AsLongLongAndOverflow

cdef extern from "Python.h":
    int PyObject_GC_IsTracked(object o)
    void PyObject_GC_UnTrack(object o)

# Tensors and graph nodes are GC types (they traverse their references) whose
# instances start untracked: with 1e5 live graph objects every collection would walk
# them all, and a graph alone has no cycle (a leaf holds its AccumulateGrad weakly,
# retain_grad holds its tensor weakly). Cycles come only through what user code
# attaches: a hook, a custom Function's ctx, a __dict__ attribute, a .grad with a
# graph of its own. The objects on such a cycle are tracked when that happens
# (track_hook, track, the grad setter, _track_stored; a Function's node is tracked
# from birth), and so is every later node or tensor that points to a tracked one
# (_points_to_tracked), so that the collector sees the whole cycle.
cdef extern from *:
    """
    /* CPython puts a GC object's header (PyGC_Head, internal) just before it: two
       words, the first 0 while the object is untracked (3.8 to 3.14; not in the
       free-threaded build). Where that layout is confirmed at import (sys.getsizeof),
       the graph types allocate their objects without the allocation count that
       schedules collections (an untracked object cannot be collected: counting it
       would only run collections for nothing), and test tracking inline. */
    #if PY_VERSION_HEX >= 0x03080000 && PY_VERSION_HEX < 0x030F0000 && !defined(Py_GIL_DISABLED)
    #define AD_GC_HEAD_WORDS 2
    #endif
    #if defined(__GNUC__)
    #define AD_ALWAYS_INLINE static inline __attribute__((always_inline))
    #else
    #define AD_ALWAYS_INLINE static inline
    #endif
    static int ad_gc_layout_ok = 0;

    static PyObject* ad_alloc_untracked(PyTypeObject* tp, Py_ssize_t nitems) {
        PyObject* o;
    #ifdef AD_GC_HEAD_WORDS
        if (ad_gc_layout_ok) {
            size_t pre = AD_GC_HEAD_WORDS * sizeof(uintptr_t);
            char* mem = (char*)PyObject_Malloc(pre + (size_t)tp->tp_basicsize);
            if (!mem) return PyErr_NoMemory();
            memset(mem, 0, pre + (size_t)tp->tp_basicsize);
            return PyObject_Init((PyObject*)(mem + pre), tp);
        }
    #endif
        o = _PyObject_GC_New(tp);
        if (o) memset((char*)o + sizeof(PyObject), 0, (size_t)tp->tp_basicsize - sizeof(PyObject));
        return o;
    }
    /* (Cython's dealloc of a GC type has untracked the object) */
    static void ad_free_untracked(void* op) {
    #ifdef AD_GC_HEAD_WORDS
        if (ad_gc_layout_ok) {
            PyObject_Free((char*)op - AD_GC_HEAD_WORDS * sizeof(uintptr_t));
            return;
        }
    #endif
        PyObject_GC_Del(op);
    }
    /* ``o``: a tensor or node (a GC type but for a bare Node) */
    AD_ALWAYS_INLINE int ad_is_tracked(PyObject* o) {
    #ifdef AD_GC_HEAD_WORDS
        if (ad_gc_layout_ok)
            return PyType_IS_GC(Py_TYPE(o)) && ((uintptr_t*)o)[-AD_GC_HEAD_WORDS] != 0;
    #endif
        return PyObject_GC_IsTracked(o);
    }
    static void ad_set_untracked_alloc(PyObject* tp) {
        ((PyTypeObject*)tp)->tp_alloc = ad_alloc_untracked;
        ((PyTypeObject*)tp)->tp_free = ad_free_untracked;
    }
    /* A node type without fields of its own, which Cython makes without GC support:
       a GC type (before any instance exists) traversed as Node, for its heap
       subclasses only (ad_heap_dealloc untracks their objects). */
    static void ad_make_gc_node_type(PyObject* tp, void* traverse) {
        ((PyTypeObject*)tp)->tp_flags |= Py_TPFLAGS_HAVE_GC;
        ((PyTypeObject*)tp)->tp_traverse = (traverseproc)traverse;
        ad_set_untracked_alloc(tp);
    }
    static int ad_gc_head_size(void) {
    #ifdef AD_GC_HEAD_WORDS
        return AD_GC_HEAD_WORDS * (int)sizeof(uintptr_t);
    #else
        return -1;
    #endif
    }
    static void ad_set_gc_layout_ok(int ok) { ad_gc_layout_ok = ok; }
    AD_ALWAYS_INLINE void ad_track(PyObject* o) {
        if (PyType_IS_GC(Py_TYPE(o)) && !ad_is_tracked(o)) PyObject_GC_Track(o);
    }
    /* one of two edges (a node or None, borrowed) is tracked */
    AD_ALWAYS_INLINE int ad_edges_tracked(PyObject* e0, PyObject* e1) {
        return (e0 != Py_None && ad_is_tracked(e0)) || (e1 != Py_None && ad_is_tracked(e1));
    }
    """
    void _set_untracked_alloc "ad_set_untracked_alloc"(object tp)
    void _make_gc_node_type "ad_make_gc_node_type"(object tp, void* traverse)
    void _track "ad_track"(object o)
    bint _is_tracked "ad_is_tracked"(object o)
    bint _edges_tracked "ad_edges_tracked"(PyObject* e0, PyObject* e1)
    int _gc_head_size "ad_gc_head_size"()
    void _set_gc_layout_ok "ad_set_gc_layout_ok"(int ok)

cdef extern from "Python.h":
    ctypedef struct PyType_Slot:
        int slot
        void *pfunc
    ctypedef struct PyType_Spec:
        const char *name
        int basicsize
        int itemsize
        unsigned int flags
        PyType_Slot *slots
    object PyType_FromSpecWithBases(PyType_Spec *spec, object bases)
    unsigned long Py_TPFLAGS_DEFAULT
    unsigned long Py_TPFLAGS_BASETYPE
    ctypedef int (*visitproc)(PyObject*, void*)
    ctypedef struct PyTypeObject:
        Py_ssize_t tp_basicsize
        unsigned long tp_flags
        PyObject* (*tp_new)(PyTypeObject*, PyObject*, PyObject*)
        int (*tp_traverse)(PyObject*, visitproc, void*)
    unsigned long Py_TPFLAGS_HEAPTYPE
    ctypedef struct PyObject:
        pass

cdef tuple _empty_tuple = ()


cdef inline object _new_instance(object cls):
    """``cls.__new__(cls)`` through the type's C slot (Cython would go through a Python
    method call for a type known only at run time, ~0.3 us per object)."""
    cdef PyObject* p = (<PyTypeObject*>cls).tp_new(<PyTypeObject*>cls, <PyObject*>_empty_tuple, NULL)
    if p == NULL:
        raise MemoryError("could not create a %s" % cls)
    obj = <object>p
    Py_DECREF(obj)      # <object>p took a second reference
    return obj


cdef extern from *:
    """
    /* tp_dealloc of the heap types made by untracked_subclass: their first static
       base's dealloc, then the reference each instance of a heap type holds on its
       type. That is what CPython's generic subtype_dealloc ends in; its checks for
       finalizers, __dict__, __slots__ and the trashcan do not apply to these types
       (no Python-level fields; the base's dealloc untracks the GC object), and each
       object of a graph is freed once: ~40 instructions less per tensor and node. */
    static void ad_heap_dealloc(PyObject* self) {
        PyTypeObject* tp = Py_TYPE(self);
        PyTypeObject* base = tp;
        while (base->tp_flags & Py_TPFLAGS_HEAPTYPE) base = base->tp_base;
        base->tp_dealloc(self);
        Py_DECREF(tp);
    }
    /* the same for a base whose dealloc does not untrack the object (one that Cython
       made without GC support: ZeroDerivative) */
    static void ad_heap_dealloc_untrack(PyObject* self) {
        if (ad_is_tracked(self)) PyObject_GC_UnTrack(self);
        ad_heap_dealloc(self);
    }
    static void* ad_heap_dealloc_ptr(void) { return (void*)ad_heap_dealloc; }
    static void* ad_heap_dealloc_untrack_ptr(void) { return (void*)ad_heap_dealloc_untrack; }
    """
    void* ad_heap_dealloc_ptr()
    void* ad_heap_dealloc_untrack_ptr()
    int Py_tp_dealloc


cdef PyType_Slot _no_slots[1]
_no_slots[0].slot = 0
_no_slots[0].pfunc = NULL
cdef PyType_Slot _dealloc_slots[2]      # for a static base: ad_heap_dealloc
_dealloc_slots[0].slot = Py_tp_dealloc
_dealloc_slots[0].pfunc = ad_heap_dealloc_ptr()
_dealloc_slots[1].slot = 0
_dealloc_slots[1].pfunc = NULL
cdef PyType_Slot _untrack_dealloc_slots[2]      # ad_heap_dealloc_untrack
_untrack_dealloc_slots[0].slot = Py_tp_dealloc
_untrack_dealloc_slots[0].pfunc = ad_heap_dealloc_untrack_ptr()
_untrack_dealloc_slots[1].slot = 0
_untrack_dealloc_slots[1].pfunc = NULL
cdef list _type_names = []      # the C strings behind created types must stay alive


def untracked_subclass(str qualname, base, dict namespace=None):
    """A subclass of the cdef class ``base`` whose instances start untracked by the
    cyclic GC (see ad_alloc_untracked), with the attributes of ``namespace``. (A
    ``class`` statement makes instances tracked from birth, and with 1e5 live graph
    objects every GC pass walks them all.)"""
    cdef PyType_Spec spec
    name = qualname.encode("ascii")
    _type_names.append(name)
    spec.name = name
    spec.basicsize = (<PyTypeObject*>base).tp_basicsize
    spec.itemsize = 0
    spec.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE
    # a static (cdef) base: its dealloc and the type's reference, see ad_heap_dealloc
    if (<PyTypeObject*>base).tp_flags & Py_TPFLAGS_HEAPTYPE:
        spec.slots = &_no_slots[0]
    elif base is ZeroDerivative:
        spec.slots = &_untrack_dealloc_slots[0]
    else:
        spec.slots = &_dealloc_slots[0]
    cls = PyType_FromSpecWithBases(&spec, (base,))
    for key, value in (namespace or {}).items():
        if key not in ("__dict__", "__weakref__", "__module__", "__qualname__"):
            setattr(cls, key, value)
    return cls


def make_node_class(str name, base):
    """A node class named e.g. ``MulBackward0``, untracked by the cyclic GC."""
    return untracked_subclass("autodiff.graph." + name, base)

cdef object ndarray = np.ndarray
cdef object _partial = functools.partial
cdef object _asarray = np.asarray
cdef object _np_add = np.add
cdef object _np_generic = np.generic

# ---------------------------------------------------------------------------
# Grad mode and forward-AD level: thread-local.
# ---------------------------------------------------------------------------

cdef class Flags:
    """Per-thread modes: grad recording, forward-AD level, anomaly detection."""
    cdef public bint grad_enabled
    cdef public bint inference
    cdef public int fw_level          # 0: no dual level is open
    cdef public bint fw_suspended     # True while a JVP rule itself runs
    cdef public bint anomaly
    cdef public bint anomaly_check_nan
    cdef public int fw_batch          # >0: tangents carry this many leading batch axes
    cdef public long fw_gen           # id of the current dual level: older tangents are dead

    def __cinit__(self):
        self.grad_enabled = True
        self.anomaly_check_nan = True


class _ThreadLocal(threading.local):
    def __init__(self):
        self.flags = Flags()


cdef object _tls = _ThreadLocal()
# The flags of the thread that ran last: under the GIL only one thread runs at a
# time, so re-reading the thread-local object only when the thread changes is safe.
# Threads are told apart by their thread state's id, which is never reused.
cdef unsigned long long _cached_tid = 0
cdef Flags _cached_flags = None


cdef inline Flags _flags():
    global _cached_tid, _cached_flags
    cdef unsigned long long tid = PyThreadState_GetID(PyThreadState_Get())
    if tid != _cached_tid or _cached_flags is None:
        _cached_flags = _tls.flags
        _cached_tid = tid
    return _cached_flags


def thread_state():
    """This thread's mode flags (``grad_enabled``, ``fw_level``, ``anomaly``, ...)."""
    return _flags()


cpdef bint is_grad_enabled():
    """True when operations are being recorded for backward on this thread."""
    return _flags().grad_enabled


cpdef set_grad_enabled_flag(bint flag):
    _flags().grad_enabled = flag


# ---------------------------------------------------------------------------
# Tensor autograd state
# ---------------------------------------------------------------------------

cdef class VersionCounter:
    """Counts in-place modifications of a tensor's memory (shared by views)."""
    cdef public long value
    # in-place writes that changed the autograd history of the memory: a view made
    # before the last one re-derives its grad_fn from its source (see _sync_view)
    cdef public long grad_writes

    def __cinit__(self):
        self.value = 0
        self.grad_writes = 0


cdef object _tensor_class = None
cdef object _warn = warnings.warn
cdef str _NON_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
    ".grad attribute won't be populated during autograd.backward(). If you indeed want "
    "the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the "
    "non-leaf Tensor.")


def set_tensor_class(cls):
    """Register the Python ``Tensor`` class that the engine creates."""
    global _tensor_class
    _tensor_class = cls


cdef class _TensorExtra:
    """What few tensors need, allocated on first need: a leaf's accumulator and .grad,
    hooks, the forward-mode tangent, retain_grad. (The one graph type with a tp_clear:
    a cycle through .grad or a tangent holds no other object the GC could clear.)"""
    cdef object grad                     # .grad (leaves, and tensors that retain grad)
    cdef object accumulator_ref
    cdef list hooks
    cdef list post_acc_hooks
    cdef object tan                      # forward-mode tangent, live only in its dual level
    cdef long tan_gen
    cdef bint retains_grad
    # Serialises accumulation into .grad across threads (PyTorch's per-AccumulateGrad
    # mutex): NumPy releases the GIL inside large in-place adds and copies. Made on
    # first accumulation; re-entrant for the thread that holds it (a post-accumulate
    # hook may run backward into the same tensor).
    cdef PyThread_type_lock grad_lock
    cdef long lock_owner
    cdef int lock_depth

    def __dealloc__(self):
        if self.grad_lock != NULL:
            PyThread_free_lock(self.grad_lock)


@cython.no_gc_clear
cdef class TensorBase:
    """Autograd state of a tensor; ``autodiff.Tensor`` adds the user-facing API."""
    # Small, the fields backward reads first: a graph's tensors, like its nodes, do
    # not fit in the cache when it is large.
    cdef public object _data
    cdef public Node _grad_fn
    cdef VersionCounter _vc              # created on first need (most tensors never need one)
    cdef _TensorExtra _x                 # None until a rare feature needs it
    cdef public int _output_nr
    cdef public bint _requires_grad
    cdef public object _base             # the tensor this one is a view of
    # (source, view op's spec, params, grad_writes when its grad_fn was derived) of a
    # view; an int i stands for (_base, getitem, (i,), 0) (the int select of a base
    # tensor, W1's p[i]: no tuple per select). Read it as _view_of.
    cdef object _view_src
    cdef object __weakref__
    # No cdef methods (module functions _t_extra, _t_vc, _t_array instead): a class
    # with some carries a pointer to its method table, and 8 bytes less put a tensor
    # in pymalloc's 80-byte size class.

    @property
    def _grad(self):
        return _grad_of(self)

    @_grad.setter
    def _grad(self, value):
        _set_grad(self, value)

    @property
    def _view_of(self):
        """(source, spec, params) of a view: ``spec.module_func(source, *params)`` makes
        it again. None for a tensor that is not a view."""
        info = _view_info(self)
        return None if info is None else info[:3]

    @_view_of.setter
    def _view_of(self, value):
        if value is not None:
            raise ValueError("_view_of can only be cleared (set to None)")
        self._view_src = None

    @property
    def _retains_grad(self):
        return self._x is not None and self._x.retains_grad

    @_retains_grad.setter
    def _retains_grad(self, bint value):
        if value or self._x is not None:
            _t_extra(self).retains_grad = value

    @property
    def _accumulator_ref(self):
        return None if self._x is None else self._x.accumulator_ref

    @_accumulator_ref.setter
    def _accumulator_ref(self, value):
        if value is not None or self._x is not None:
            _t_extra(self).accumulator_ref = value

    @property
    def _hooks(self):
        return None if self._x is None else self._x.hooks

    @_hooks.setter
    def _hooks(self, list value):
        if value is not None or self._x is not None:
            _t_extra(self).hooks = value

    @property
    def _post_acc_hooks(self):
        return None if self._x is None else self._x.post_acc_hooks

    @_post_acc_hooks.setter
    def _post_acc_hooks(self, list value):
        if value is not None or self._x is not None:
            _t_extra(self).post_acc_hooks = value

    @property
    def _version(self):
        """How many in-place ops changed this tensor's memory (through it or any view
        sharing it), an int as in PyTorch.

        >>> import autodiff as ad
        >>> x = ad.zeros(3)
        >>> v = x[1:]
        >>> x._version, v._version
        (0, 0)
        >>> v.add_(1.0)._version, x._version
        (1, 1)
        """
        return 0 if self._vc is None else self._vc.value

    @property
    def _version_counter(self):
        """The version counter object, shared with views and ``detach()``ed tensors."""
        return _t_vc(self)

    @_version_counter.setter
    def _version_counter(self, VersionCounter value):
        self._vc = value

    @property
    def grad(self):
        """Accumulated gradient (leaves that require grad, and tensors that retain grad).

        Reading it on a non-leaf that does not retain its gradient gives None
        and a ``UserWarning``, as PyTorch does.

        >>> import autodiff as ad
        >>> x = ad.tensor([1.0, 2.0], requires_grad=True)
        >>> (3 * x).sum().backward()
        >>> x.grad
        tensor([3., 3.])
        """
        g = _grad_of(self)
        if (g is None and self._grad_fn is not None
                and not (self._x is not None and self._x.retains_grad)):
            # stacklevel 1: this C property has no frame, so the warning names the caller
            _warn(_NON_LEAF_GRAD, UserWarning, 1)
        return g

    @grad.setter
    def grad(self, value):
        if value is not None:
            value = self._checked_grad(value)   # (Tensor's: conversion, shape and dtype)
            if (<TensorBase>value)._requires_grad:
                # its graph may lead back to this tensor: a cycle through .grad
                _track_graph(value, set())
                _track_tensor(self)
        _set_grad(self, value)

    @property
    def grad_fn(self):
        """The node that created this tensor (None for leaves).

        >>> import autodiff as ad
        >>> x = ad.tensor([1.0, 2.0], requires_grad=True)
        >>> x.grad_fn is None, (x * 2).grad_fn.name()
        (True, 'MulBackward0')
        """
        _sync_view(self)
        return self._grad_fn

    @property
    def is_leaf(self):
        """True for tensors not produced by a recorded operation.

        >>> import autodiff as ad
        >>> x = ad.tensor([1.0, 2.0], requires_grad=True)
        >>> x.is_leaf, (x * 2).is_leaf, ad.ones(2).is_leaf
        (True, False, True)
        """
        _sync_view(self)
        return self._grad_fn is None

    @property
    def _fw_tangent(self):
        """The forward-mode tangent, or None (also once its dual level has closed)."""
        return _live_tangent(self)

    @_fw_tangent.setter
    def _fw_tangent(self, value):
        _set_tangent(self, value)

    def _array(self):
        """``_data`` as an ndarray (0-d op results are kept as NumPy scalars until asked)."""
        return _t_array(self)

    # Arithmetic operators live here, in C slots, because they are the hottest
    # calls of all (a Python-level __mul__ costs more than the op's own work on
    # scalars). The ops are registered from Python by set_operator_ops.
    def __add__(self, other):
        return _binary(_OP_ADD, self, _operand(other))

    def __radd__(self, other):
        return _binary(_OP_ADD, _operand(other), self)

    def __sub__(self, other):
        return _binary(_OP_SUB, self, _operand(other))

    def __rsub__(self, other):
        return _binary(_OP_SUB, _operand(other), self)

    def __mul__(self, other):
        return _binary(_OP_MUL, self, _operand(other))

    def __rmul__(self, other):
        return _binary(_OP_MUL, _operand(other), self)

    def __truediv__(self, other):
        return _binary(_OP_DIV, self, _operand(other))

    def __rtruediv__(self, other):
        return _binary(_OP_DIV, _operand(other), self)

    def __neg__(self):
        return dispatch(_OP_NEG, (self,), ())

    def __matmul__(self, other):
        return _binary(_OP_MATMUL, self, _operand(other))

    def __rmatmul__(self, other):
        return _binary(_OP_MATMUL, _operand(other), self)

    def __getitem__(self, index):
        # an int index into a 1-d float64 tensor is built in the core (no Python frame:
        # W1 takes the 4 entries of each softmax this way); the rest by the getitem op
        fast = _select(self, index)
        if fast is not None:
            return fast
        return _getitem_fn(self, index)


cdef OpSpec _OP_ADD = None, _OP_SUB = None, _OP_MUL = None, _OP_DIV = None, _OP_NEG = None
cdef OpSpec _OP_MATMUL = None
cdef object _getitem_fn = None


def set_operator_ops(OpSpec add, OpSpec sub, OpSpec mul, OpSpec div, OpSpec neg,
                     OpSpec matmul=None, getitem=None):
    """Register the ops behind ``+ - * / @``, unary ``-`` and ``t[index]`` on tensors."""
    global _OP_ADD, _OP_SUB, _OP_MUL, _OP_DIV, _OP_NEG, _OP_MATMUL, _getitem_fn
    _OP_ADD, _OP_SUB, _OP_MUL, _OP_DIV, _OP_NEG = add, sub, mul, div, neg
    _OP_MATMUL = matmul
    _getitem_fn = getitem


cdef inline object _operand(object x):
    """Operands pass as they are, except array-likes (lists...), which become arrays."""
    if (isinstance(x, TensorBase) or type(x) is float or type(x) is int or type(x) is ndarray
            or isinstance(x, _np_generic) or type(x) is bool or type(x) is complex):
        return x
    return _asarray(x)


cdef inline bint _has_tangent(TensorBase t):
    """A tangent is set (it may belong to a dual level that has closed)."""
    return t._x is not None and t._x.tan is not None


cdef inline object _live_tangent(TensorBase t):
    cdef Flags fl
    if not _has_tangent(t):
        return None
    fl = _flags()
    if fl.fw_level == 0 or t._x.tan_gen != fl.fw_gen:
        return None
    return t._x.tan


cdef inline void _set_tangent(TensorBase t, object value):
    cdef _TensorExtra x
    if value is None and t._x is None:
        return
    x = _t_extra(t)
    x.tan = value
    x.tan_gen = _flags().fw_gen


cdef inline _TensorExtra _t_extra(TensorBase t):
    """The tensor's record of rare fields, made on first need."""
    if t._x is None:
        t._x = _TensorExtra.__new__(_TensorExtra)
        if _is_tracked(t):
            _track(t._x)
    return t._x


cdef inline VersionCounter _t_vc(TensorBase t):
    """The tensor's version counter, made on first need."""
    if t._vc is None:
        t._vc = VersionCounter()
    return t._vc


cdef inline object _t_array(TensorBase t):
    if type(t._data) is not ndarray:
        t._data = _asarray(t._data)
    return t._data


cdef inline object _grad_of(TensorBase t):
    return None if t._x is None else t._x.grad


cdef inline void _set_grad(TensorBase t, object value):
    if value is not None or t._x is not None:
        _t_extra(t).grad = value


cdef inline TensorBase new_tensor(object data):
    cdef TensorBase t = <TensorBase>_new_instance(_tensor_class)
    t._data = data
    return t


def broadcast_view(object a, tuple shape):
    """``np.broadcast_to(a, shape)`` for an ndarray or NumPy scalar ``a``, without its
    Python layers (~2 us): a read-only view, as NumPy's. Rules use it on raw gradients.

    >>> import numpy as np
    >>> broadcast_view(np.float64(2.0), (2, 3)).tolist()
    [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """
    cdef cnp.npy_intp dims[64]
    cdef Py_ssize_t k, nd = len(shape)
    if nd > 64:
        raise ValueError("broadcast_view: %d dimensions is more than NumPy allows" % nd)
    if type(a) is not ndarray:
        a = np.asarray(a)
    for k in range(nd):
        dims[k] = shape[k]
        if dims[k] < 0:
            raise ValueError("broadcast_view: negative dimension in %r" % (shape,))
    try:
        return _broadcast_view(<cnp.ndarray>a, <int>nd, dims)
    except ValueError:
        raise ValueError("cannot broadcast an array of shape %r to shape %r"
                         % (a.shape, shape)) from None


def make_tensor(data, bint requires_grad=False):
    """Wrap an ndarray into a Tensor without copying (internal)."""
    cdef TensorBase t = new_tensor(data)
    t._requires_grad = requires_grad
    return t


cdef AccumulateGrad get_accumulator(TensorBase t):
    # The leaf holds its accumulator weakly (acc.variable holds the leaf), so each new
    # graph usually makes a new one: through the C API (weakref.ref() costs ~0.5 us).
    cdef AccumulateGrad acc
    cdef PyObject* p
    if t._x is not None and t._x.accumulator_ref is not None:
        p = PyWeakref_GetObject(t._x.accumulator_ref)   # borrowed; None once dead
        if p != <PyObject*>None:
            acc = <AccumulateGrad>p
            if _is_tracked(t):
                _track(acc)         # (made before ``t`` was tracked)
            return acc
    acc = AccumulateGrad.__new__(AccumulateGrad)
    acc.variable = t
    acc.num_outputs = 1
    _number(acc)            # numbered before the node that will point to it
    _t_extra(t).accumulator_ref = PyWeakref_NewRef(acc, None)
    if _is_tracked(t):
        _track(acc)
    return acc


# ---------------------------------------------------------------------------
# Which graph objects the cyclic GC tracks (see ad_alloc_untracked)
# ---------------------------------------------------------------------------

cdef void _track_tensor(TensorBase t):
    _track(t)
    if t._x is not None:
        _track(t._x)
    if type(t._view_src) is tuple:
        _track(t._view_src)


cdef void _track_node(Node node):
    _track(node)
    if node._x is not None:
        _track(node._x)
    if node.n_inline == 3:          # the edge tuples (untracked when made)
        _track(node._e0)
        _track(node._e1)


cdef inline bint _points_to_tracked(Node node) noexcept:
    """An edge of ``node`` goes to a tracked node: then ``node`` (and its outputs) may be
    on a cycle through it, and are tracked too."""
    if node.n_inline < 3:
        return _edges_tracked(<PyObject*>node._e0, <PyObject*>node._e1)
    return _any_edge_tracked(<tuple>node._e0)


cdef bint _any_edge_tracked(tuple nodes) noexcept:
    cdef Py_ssize_t i
    cdef PyObject* p
    for i in range(len(nodes)):
        p = PyTuple_GET_ITEM(nodes, i)
        if p != <PyObject*>None and _edges_tracked(p, <PyObject*>None):
            return True
    return False


cdef inline bint _tracked_tensor(object a) noexcept:
    return isinstance(a, TensorBase) and _is_tracked(a)


cdef int _track_graph(object root, set seen) except -1:
    """Track ``root`` (a tensor or node) and every tensor and node it reaches, skipping
    the ids in ``seen``: a new reference to ``root`` from a tracked object (a .grad, a
    hook's closure) may close a cycle through any of them."""
    cdef list todo = [root]
    cdef TensorBase t
    cdef Node node
    cdef _OpState st
    cdef Py_ssize_t i
    while todo:
        o = todo.pop()
        if o is None or id(o) in seen:
            continue
        if isinstance(o, TensorBase):
            seen.add(id(o))
            t = <TensorBase>o
            _track_tensor(t)
            todo.append(t._grad_fn)
            todo.append(t._base)
            if type(t._view_src) is tuple:
                todo.append((<tuple>t._view_src)[0])
            if t._x is not None:
                todo.append(t._x.grad)
                todo.append(t._x.tan)
        elif isinstance(o, Node):
            seen.add(id(o))
            node = <Node>o
            _track_node(node)
            for i in range(_n_edges(node)):
                todo.append(_edge(node, i))
            if isinstance(node, AccumulateGrad):
                todo.append((<AccumulateGrad>node).variable)
            elif isinstance(node, OpNode):
                todo.append((<OpNode>node).s_in0)
                todo.append((<OpNode>node).s_in1)
                if (<OpNode>node).scalar_op == 0 and node._x is not None:
                    st = <_OpState>node._x
                    if st.stens is not None:
                        todo.extend(st.stens)
            elif isinstance(node, FunctionNode) and (<FunctionNode>node).ctx is not None:
                todo.extend(getattr((<FunctionNode>node).ctx, "_saved", None) or ())
    return 0


cdef int _track_refs(object x, set seen) except -1:
    """``_track_graph`` of ``x`` if it is a tensor or node, or of those that the tuple,
    list or dict ``x`` holds (one level down)."""
    if isinstance(x, (TensorBase, Node)):
        _track_graph(x, seen)
    elif isinstance(x, (tuple, list)):
        for y in x:
            if isinstance(y, (TensorBase, Node)):
                _track_graph(y, seen)
    elif isinstance(x, dict):
        for y in (<dict>x).values():
            if isinstance(y, (TensorBase, Node)):
                _track_graph(y, seen)
    return 0


def track_hook(TensorBase t, object hook):
    """Called when ``hook`` has been registered on ``t``: track the objects a cycle
    through the hook may pass (``t``, the records holding its hooks, its node or
    accumulator, and the graphs of the tensors the hook refers to directly: its
    closure, defaults, bound ``self``, a partial's arguments)."""
    cdef set seen = set()
    _track_tensor(t)
    if t._grad_fn is not None:
        _track_node(t._grad_fn)
    elif t._x is not None and t._x.accumulator_ref is not None:
        acc = t._x.accumulator_ref()
        if acc is not None:
            _track_node(<Node>acc)
    todo = [hook]
    while todo:
        fn = todo.pop()
        for cell in getattr(fn, "__closure__", None) or ():
            try:
                _track_refs(cell.cell_contents, seen)
            except ValueError:      # an empty cell
                pass
        _track_refs(getattr(fn, "__defaults__", None), seen)
        _track_refs(getattr(fn, "__kwdefaults__", None), seen)
        _track_refs(getattr(fn, "__self__", None), seen)
        if isinstance(fn, _partial):
            todo.append(fn.func)
            _track_refs(fn.args, seen)
            _track_refs(fn.keywords, seen)


def track(TensorBase t):
    """Track the tensor ``t`` (a custom Function's output: its node, which the cyclic GC
    tracks, holds the ctx, which user code may point back to ``t`` from)."""
    _track_tensor(t)


cdef int _track_stored(TensorBase t, set seen) except -1:
    """After backward(create_graph=True) stored into ``t.grad``: a .grad with a graph of
    its own leads back to ``t`` (PyTorch's known leak): track that cycle's objects."""
    g = _grad_of(t)
    if g is not None and (<TensorBase>g)._requires_grad:
        _track_tensor(t)
        _track_graph(g, seen)
    return 0


cdef int _traverse_node(PyObject* o, visitproc visit, void* arg) noexcept:
    """tp_traverse of Node, which Cython does not make (see Node)."""
    cdef PyObject* p
    cdef int e
    p = <PyObject*>(<Node>o)._e0
    if p != NULL:
        e = visit(p, arg)
        if e:
            return e
    p = <PyObject*>(<Node>o)._e1
    if p != NULL:
        e = visit(p, arg)
        if e:
            return e
    p = <PyObject*>(<Node>o)._x
    if p != NULL:
        return visit(p, arg)
    return 0


(<PyTypeObject*>Node).tp_traverse = _traverse_node
for _cls in (TensorBase, _TensorExtra, _NodeExtra, _OpState, OpNode, AccumulateGrad):
    _set_untracked_alloc(_cls)
_make_gc_node_type(ZeroDerivative, <void*>_traverse_node)
# the header size that ad_alloc_untracked assumes, as CPython reports it
_set_gc_layout_ok(_gc_head_size() > 0 and
                  sys.getsizeof(_NodeExtra.__new__(_NodeExtra))
                  - _NodeExtra.__basicsize__ == _gc_head_size())
del _cls


def grad_accumulator(TensorBase t):
    """The AccumulateGrad node of a leaf that requires grad."""
    return get_accumulator(t)


cdef inline tuple edge_of(object x):
    """(node, output index) through which gradient reaches tensor ``x``."""
    cdef TensorBase t
    if isinstance(x, TensorBase):
        t = <TensorBase>x
        _sync_view(t)
        if t._grad_fn is not None:
            return (t._grad_fn, t._output_nr)
        if t._requires_grad:
            return (get_accumulator(t), 0)
    return (None, 0)


# ---------------------------------------------------------------------------
# Nodes
# ---------------------------------------------------------------------------

cdef class Node


# The nodes a backward will run next, by creation number (Node.seq): a binary
# max-heap of (number, node) pairs, each holding a reference to its node. Nodes run
# in PyTorch's order, the newest ready node first. In the common backward a node
# joins the heap when it is first reached: every node that points to it is newer,
# so when it comes out all its gradients have arrived, and no pass over the graph
# counts dependencies. The others join it when their count of pending edges is 0.
ctypedef struct _HeapItem:
    unsigned int seq
    PyObject* node


cdef struct _Heap:
    _HeapItem* items
    Py_ssize_t n
    Py_ssize_t cap


@cython.no_gc
cdef class _NodeTask:
    """One node's state during one backward call: pending edges and gradient buffers.

    Every Node is also one (the base class): a backward that keeps its state on the
    nodes (the common case) touches no other object per node. Other calls (autograd.grad,
    a backward inside a hook, ...) make separate tasks (_Task), in a dict.
    The fields are small on purpose: a graph of 1e4+ scalar nodes does not fit in the
    cache, and each cache line of a node costs a miss in backward and in its free."""
    cdef object g0            # gradient buffer of output 0
    cdef int deps
    cdef char owned0          # True when g0 is an array this backward allocated
    cdef char active          # on a node: its state belongs to the running backward
    cdef unsigned char n_inline   # a Node's field (here, it fills padding): see Node._e0


@cython.no_gc
cdef class _Task(_NodeTask):
    """A node's backward state kept outside the node (in the dict of its backward)."""
    cdef Node node
    cdef list more            # [[buffer, owned], ...] for outputs 1.. (multi-output nodes)


@cython.no_gc_clear
cdef class _NodeExtra:
    """What few nodes need, allocated on first need: hooks, retained grads, the anomaly
    trace, and the gradient buffers of outputs 1.. (multi-output nodes) in a backward
    that keeps its state on the nodes."""
    cdef dict pre_hooks       # output_nr -> list of [key, fn]
    cdef dict retained        # output_nr -> weakref of a tensor that retains grad
    cdef object anomaly_trace
    cdef list more


# Freeing a long chain of nodes recurses (a node frees the next node, or a saved
# tensor that frees its node...). Deeper than this, a dying node hands its references
# to a list that the outermost free empties: CPython's trashcan does this for tuples,
# but nodes are not GC objects and cannot use it.
cdef int _FREE_DEPTH_MAX = 50
cdef int _free_depth = 0
cdef list _free_later = []


cdef inline bint _free_deep(object a, object b, object c, object d):
    """Called by a dying node before it drops its links ``a``..``d``. True when frees
    are nested too deep: the links are then kept in ``_free_later``; else the caller
    calls ``_free_done()`` once it has dropped them."""
    global _free_depth
    if _free_depth >= _FREE_DEPTH_MAX and _free_later is not None:
        for x in (a, b, c, d):
            if x is not None:
                _free_later.append(x)
        return True
    _free_depth += 1
    return False


cdef inline void _free_done():
    global _free_depth
    _free_depth -= 1
    if _free_depth == 0 and _free_later:
        _free_depth += 1        # (objects freed here defer to this loop, not recurse into it)
        while _free_later:
            _free_later.pop()
        _free_depth -= 1


# no_gc: Cython would re-track each dying OpNode before its base's dealloc (two GC
# calls more per node); the subclasses are GC types and reach Node's references
# through its tp_traverse, _traverse_node.
@cython.no_gc
cdef class Node(_NodeTask):
    """A node of the backward graph: a function from output grads to input grads.

    Subclasses free their links (edges, saved tensors) in ``__dealloc__`` with
    ``_free_deep``: one call per node (Cython wraps each ``__dealloc__`` of a class
    and its bases), and no recursion down a long chain."""
    # The edges: with n_inline (0, 1 or 2) edges, the next nodes are _e0, _e1 and
    # their output indices _i0, _i1, in the node (no tuple to allocate, reach and
    # free); with n_inline 3, _e0 and _e1 are the tuples of nodes and of indices.
    cdef object _e0, _e1
    cdef _NodeExtra _x               # None until a rare feature needs it
    cdef public int num_outputs
    cdef int _i0, _i1
    # Creation number, given when the edges are set: higher than every next node's.
    # Backward runs nodes from the highest number down (see _Heap), and a node
    # only ever points to older ones, so no pass over the graph counts dependencies.
    cdef unsigned int seq
    cdef object __weakref__

    cdef _NodeExtra _extra(self):
        if self._x is None:
            self._x = _NodeExtra.__new__(_NodeExtra)
            if _is_tracked(self):
                _track(self._x)
        return self._x

    @property
    def _pre_hooks(self):
        return None if self._x is None else self._x.pre_hooks

    @_pre_hooks.setter
    def _pre_hooks(self, dict value):
        if value is not None or self._x is not None:
            self._extra().pre_hooks = value

    @property
    def _retained(self):
        return None if self._x is None else self._x.retained

    @_retained.setter
    def _retained(self, dict value):
        if value is not None or self._x is not None:
            self._extra().retained = value

    @property
    def _anomaly_trace(self):
        return None if self._x is None else self._x.anomaly_trace

    @_anomaly_trace.setter
    def _anomaly_trace(self, value):
        if value is not None or self._x is not None:
            self._extra().anomaly_trace = value

    @property
    def next_nodes(self):
        """The node (or None) each input's gradient flows to."""
        if self.n_inline == 3:
            return self._e0
        if self.n_inline == 2:
            return (self._e0, self._e1)
        return (self._e0,) if self.n_inline == 1 else ()

    @next_nodes.setter
    def next_nodes(self, tuple nodes):
        """(Resets next_indices to zeros when the number of edges changes.)"""
        cdef Py_ssize_t n = len(nodes)
        _set_edges(self, nodes, self.next_indices if n == _n_edges(self) else (0,) * n)

    @property
    def next_indices(self):
        """Per edge: which output of the next node the gradient is for."""
        if self.n_inline == 3:
            return self._e1
        if self.n_inline == 2:
            return (self._i0, self._i1)
        return (self._i0,) if self.n_inline == 1 else ()

    @next_indices.setter
    def next_indices(self, tuple indices):
        if len(indices) != _n_edges(self):
            raise ValueError("next_indices needs one index per edge (%d), got %d"
                             % (_n_edges(self), len(indices)))
        _set_edges(self, self.next_nodes, indices)

    def name(self):
        """The node's class name, as PyTorch's ``grad_fn.name()``."""
        return type(self).__name__

    @property
    def next_functions(self):
        """Tuple of ``(node or None, index)``, one per input of the forward op."""
        return tuple(zip(self.next_nodes, self.next_indices))

    def __repr__(self):
        return "<%s object at %#x>" % (type(self).__name__, id(self))

    # The engine calls these C-level virtual methods directly: a cpdef method on a
    # heap subtype (MulBackward0, ...) would look itself up in Python on every call.
    cdef list _apply(self, list grads, bint tensor_path, int batch_ndim, object needed):
        raise NotImplementedError(type(self).__name__)

    cdef object _release(self):
        pass

    def apply(self, list grads, bint tensor_path=False, int batch_ndim=0, object needed=None):
        """Gradients for the node's inputs from the gradients of its outputs."""
        return self._apply(grads, tensor_path, batch_ndim, needed)

    def release(self):
        """Free the saved values (what backward does without retain_graph)."""
        self._release()


cdef inline Py_ssize_t _n_edges(Node node):
    return node.n_inline if node.n_inline < 3 else len(<tuple>node._e0)


cdef inline object _edge(Node node, Py_ssize_t i):
    """The node input ``i``'s gradient flows to (or None)."""
    if node.n_inline < 3:
        return node._e0 if i == 0 else node._e1
    return (<tuple>node._e0)[i]


cdef inline PyObject* _edge_ptr(Node node, Py_ssize_t i):
    """``_edge``, borrowed: backward's edge loops leave the next node's reference count
    alone (pymalloc puts the header of half the nodes in a cache line of its own)."""
    if node.n_inline == 3:
        return PyTuple_GET_ITEM(<tuple>node._e0, i)
    if i == 0:
        return <PyObject*>node._e0
    return <PyObject*>node._e1


cdef inline int _edge_index(Node node, Py_ssize_t i):
    if node.n_inline < 3:
        return node._i0 if i == 0 else node._i1
    return (<tuple>node._e1)[i]


# Creation numbers (Node.seq). 0 is "not numbered yet" (below every number). When
# the counter runs out, or edges are set by hand against the order, backward goes
# back to counting dependencies for the rest of the process (_seq_order_ok).
cdef unsigned int _last_seq = 0
cdef bint _seq_order_ok = True


def _seq_order():
    """(last creation number given, whether backward may run nodes by number): for tests."""
    return _last_seq, _seq_order_ok


def _set_seq_order(unsigned int last, bint ok):
    """Set what ``_seq_order`` reports (tests of the fallback; never below a live node's)."""
    global _last_seq, _seq_order_ok
    _last_seq, _seq_order_ok = last, ok


cdef inline void _number(Node node):
    """Called when a node's edges are set. A new node gets a number above all earlier
    ones (so above its next nodes'); a numbered one keeps its number, and if an edge
    now goes to a node as new or newer, the numbered order is off from now on."""
    global _last_seq, _seq_order_ok
    if node.seq != 0:
        _check_order(node)
    elif _last_seq == 0xFFFFFFFFu:
        _seq_order_ok = False
        node.seq = _last_seq
    else:
        _last_seq += 1
        node.seq = _last_seq


cdef void _check_order(Node node):
    global _seq_order_ok
    cdef Py_ssize_t i
    cdef PyObject* p
    for i in range(_n_edges(node)):
        p = _edge_ptr(node, i)
        if p != <PyObject*>None and (<Node>p).seq >= node.seq:
            _seq_order_ok = False


cdef inline void _set_edge1(Node node, object n0, int i0):
    node.n_inline = 1
    node._e0 = n0
    node._i0 = i0
    _number(node)


cdef inline void _set_edge2(Node node, object n0, int i0, object n1, int i1):
    node.n_inline = 2
    node._e0 = n0
    node._i0 = i0
    node._e1 = n1
    node._i1 = i1
    _number(node)


cdef void _set_edges(Node node, tuple nodes, tuple indices):
    """Set the edges (``indices`` has one index per node)."""
    for x in nodes:
        if x is not None and not isinstance(x, Node):
            raise TypeError("next_nodes holds Nodes or None, not %s" % type(x).__name__)
    _set_node_edges(node, nodes, indices)


cdef void _set_node_edges(Node node, tuple nodes, tuple indices):
    """``_set_edges`` for ``nodes`` known to hold only Nodes and None."""
    cdef Py_ssize_t n = len(nodes)
    node._e0 = node._e1 = None
    node._i0 = node._i1 = 0
    if n == 0:
        node.n_inline = 0
        _number(node)
    elif n == 1:
        _set_edge1(node, nodes[0], indices[0])
    elif n == 2:
        _set_edge2(node, nodes[0], indices[0], nodes[1], indices[1])
    else:
        node.n_inline = 3
        node._e0 = nodes
        node._e1 = indices
        _number(node)


cdef inline bint _has_hooks(Node node):
    """Tensor hooks or retain_grad on one of the node's outputs."""
    cdef _NodeExtra x = node._x
    return x is not None and (x.pre_hooks is not None or x.retained is not None)


@cython.no_gc_clear
cdef class ZeroDerivative(Node):
    """The node of an input's gradient that a rule computed, under create_graph, from
    forward values (the input, the output, a mask or an index array) and a constant
    g, without a recorded op linking it to the input: relu's, clamp's, max's,
    where's, x[x > 0]'s gradient is piecewise constant in the input. Its derivative
    is zero almost everywhere; the node keeps the gradient in the graph, with an edge
    to the input, so that a further derivative is zeros instead of an error, as
    PyTorch's ReLU double backward does. A gradient made of g and shapes alone (sum,
    slices, add, sign's zero) is a constant and gets no node, as in PyTorch: leaves
    that only it would reach keep a None gradient."""

    cdef list _apply(self, list grads, bint tensor_path, int batch_ndim, object needed):
        return [None] * _n_edges(self)


@cython.no_gc_clear
cdef class AccumulateGrad(Node):
    """Leaf node: accumulates the incoming gradient into ``variable.grad``."""
    cdef public TensorBase variable

    cdef list _apply(self, list grads, bint tensor_path, int batch_ndim, object needed):
        return []


cdef class OpSpec:
    """What the engine needs to know of an op: filled in by ``ops._registry``."""
    cdef public str name
    cdef public object node_cls
    cdef public object forward
    cdef public object forward_direct  # None, or a C-level callable equal to forward on
                                       # the inputs alone (np.add ...): called without
                                       # forward's Python frame when there are no params
    cdef public int n_inputs           # -1: one variadic sequence of inputs
    cdef public tuple vjp_rules        # per input: callable or None (no gradient)
    cdef public tuple vjp_plans        # per input: tuple of (kind, index) argument sources
    cdef public tuple vjp_pass         # per input: its rule hands g on unchanged (no call)
    cdef public object vjp_into        # None, or (one-input ops) the rule's twin that may
                                       # write into g: for buffers only the engine holds
    cdef public tuple needed_by        # per input: indices of the rules that read it
    cdef public bint save_out
    cdef public bint differentiable
    cdef public int n_outputs          # 0: a single output; k: a tuple of k outputs
    cdef public tuple diff_outputs     # per output: bool (multi-output ops)
    cdef public int jvp_kind           # JVP_* below
    cdef public object jvp_rule
    cdef public tuple jvp_plan
    cdef public bint batch_ok          # rules accept leading batch axes on g/tangents
    cdef public int view_of            # -1, or index of the input the output is a view of
    cdef public object module_func
    cdef public object node_variant    # None, or (raw inputs, params) -> node class name or None
    cdef public bint variant_by_ndim   # node_variant depends only on the inputs' ndims:
                                       # cached per ndims for ndarray inputs
    cdef public dict node_classes      # node class name -> class, made on first use
    cdef public int scalar_op          # SC_* code of its float64-scalar kernel, 0: none

    def __repr__(self):
        return "<op %s>" % self.name


JVP_NONE = 0
JVP_ELEMENTWISE = 1
JVP_LINEAR = 2
JVP_MULTILINEAR = 3
JVP_CUSTOM = 4
JVP_MISSING = 5      # a differentiable op declared without a JVP rule: forward mode raises
JVP_ZERO = JVP_NONE  # zero derivative (sign, floor, comparisons): no tangent

# Kinds of argument source in a rule's plan.
cdef enum:
    SRC_G = 0
    SRC_INPUT = 1
    SRC_OUT = 2
    SRC_PARAM = 3
    SRC_SHAPE = 4
    SRC_DTYPE = 5
    SRC_INDEX = 6
    SRC_ALL_INPUTS = 7
    SRC_ALL_SHAPES = 8
    SRC_TANGENT = 9


PLAN_SOURCES = {
    "g": SRC_G, "input": SRC_INPUT, "out": SRC_OUT, "param": SRC_PARAM,
    "shape": SRC_SHAPE, "dtype": SRC_DTYPE, "index": SRC_INDEX,
    "all_inputs": SRC_ALL_INPUTS, "all_shapes": SRC_ALL_SHAPES, "tangent": SRC_TANGENT,
}


cdef str _freed_message(str name):
    return ("Trying to backward through the graph a second time (or directly access "
            "saved tensors after they have already been freed): the saved values of "
            "%s were freed by the first backward. Specify retain_graph=True if you "
            "need to backward through the graph a second time or to access saved "
            "tensors after calling backward." % name)


@cython.no_gc_clear
cdef class _OpState(_NodeExtra):
    """The generic fields of an OpNode: allocated with the node on the generic path,
    and on first need (``_materialize``) for a node of the float64-scalar fast path."""
    cdef tuple sdata                 # per input: raw array (or None if not saved)
    cdef tuple stens                 # per input: Tensor object (or None)
    cdef tuple svers                 # per input: its version when saved
    cdef object sout
    cdef object saved_out_tangent
    cdef object saved_out_vcs        # version counters of the outputs, when out is saved
    cdef tuple saved_out_versions
    cdef tuple in_shapes
    cdef tuple in_dtypes
    cdef long sver[2]                # a scalar node's inputs' versions, when not 0


cdef union _SVals:
    double f[3]                      # scalar ops: x, y (softplus: beta), out
    Py_ssize_t n[2]                  # small-vector ops: the vector's length, the selected position


@cython.no_gc_clear
cdef class OpNode(Node):
    """Backward node of a registered op; its class is named e.g. ``MulBackward0``."""
    # A node recorded by the float64-scalar fast path (scalar_op != 0) keeps what its
    # backward needs in the fields below, which come in the order backward reads them;
    # the generic fields (_OpState) are filled only when something needs them.
    cdef unsigned char scalar_op
    cdef unsigned char s_saves       # its backward reads saved values (freed by backward)
    cdef unsigned char s_mask        # bit i: input i is a tensor (else a Python number)
    cdef unsigned char s_above       # softplus: x * beta was above the threshold
    cdef public bint freed
    cdef _SVals sv
    cdef object s_in0, s_in1         # scalar ops: the inputs, when a rule reads one; softmax: out
    cdef VersionCounter s_outvc      # the output's version counter, when out is saved
    cdef public OpSpec spec
    cdef public tuple params

    def __dealloc__(self):
        cdef bint deep = _free_deep(self._e0, self._e1, self.s_in0, self.s_in1)
        self._e0 = self._e1 = self.s_in0 = self.s_in1 = None
        if not deep:
            _free_done()

    cdef _NodeExtra _extra(self):
        if self._x is None:
            self._x = <_NodeExtra>_OpState.__new__(_OpState)
            if _is_tracked(self):
                _track(self._x)
        return self._x

    cdef inline _OpState _state(self):
        """The generic fields (the node is materialised)."""
        return <_OpState>self._extra()

    @property
    def saved_data(self):
        self._materialize()
        return self._state().sdata

    @saved_data.setter
    def saved_data(self, tuple value):
        self._materialize()
        self._state().sdata = value

    @property
    def saved_tensors_(self):
        self._materialize()
        return self._state().stens

    @saved_tensors_.setter
    def saved_tensors_(self, tuple value):
        self._materialize()
        self._state().stens = value

    @property
    def saved_versions(self):
        self._materialize()
        return self._state().svers

    @saved_versions.setter
    def saved_versions(self, tuple value):
        self._materialize()
        self._state().svers = value

    @property
    def saved_out(self):
        self._materialize()
        return self._state().sout

    # The getters below read a fast-path node without materialising it (as when
    # these were plain fields); the setters materialise it first.
    @property
    def saved_out_tangent(self):
        return None if self._x is None else (<_OpState>self._x).saved_out_tangent

    @saved_out_tangent.setter
    def saved_out_tangent(self, value):
        self._materialize()
        self._state().saved_out_tangent = value

    @property
    def saved_out_vcs(self):
        if self.scalar_op != 0:
            return None if self.s_outvc is None else (self.s_outvc,)
        return self._state().saved_out_vcs

    @saved_out_vcs.setter
    def saved_out_vcs(self, value):
        self._materialize()
        self._state().saved_out_vcs = value

    @property
    def saved_out_versions(self):
        if self.scalar_op != 0:
            return None if self.s_outvc is None else _INDEX_0
        return self._state().saved_out_versions

    @saved_out_versions.setter
    def saved_out_versions(self, tuple value):
        self._materialize()
        self._state().saved_out_versions = value

    @property
    def in_shapes(self):
        if self.scalar_op != 0:
            return self._fast_in_shapes(False)
        return self._state().in_shapes

    @in_shapes.setter
    def in_shapes(self, tuple value):
        self._materialize()
        self._state().in_shapes = value

    @property
    def in_dtypes(self):
        if self.scalar_op != 0:
            return self._fast_in_shapes(True)
        return self._state().in_dtypes

    @in_dtypes.setter
    def in_dtypes(self, tuple value):
        self._materialize()
        self._state().in_dtypes = value

    cdef tuple _fast_in_shapes(self, bint dtypes):
        """in_shapes (or in_dtypes) of a fast-path node: all float64, 0-d but for the
        1-d input of softmax and select, and None for a Python-number input."""
        cdef int op = self.scalar_op
        cdef Py_ssize_t i, n = self.sv.n[0]
        if op == SC_STACK:
            return _scalars_shapes(n, dtypes)
        if op >= SC_STACK:
            if dtypes:
                return _scalars_shapes(1, True)
            return _vector_shape(n) if n <= _SMALL_SOFTMAX else ((n,),)
        if not dtypes:
            return _scalars_shapes(self.n_inline, False)
        return tuple([_F64_DTYPE if self.s_mask & (1 << i) else None
                      for i in range(self.n_inline)])

    cdef void _materialize(self):
        """Fill the generic fields of a node recorded by the fast path: from then on
        it is a generic node (the generic rules give the same bits)."""
        cdef OpSpec spec = self.spec
        cdef Py_ssize_t i, j, n
        cdef list sdata, stens, svers
        cdef bint save, any_saved
        cdef int op = self.scalar_op
        cdef _OpState st
        if op == 0:
            return
        st = self._state()
        st.in_shapes = self._fast_in_shapes(False)
        st.in_dtypes = self._fast_in_shapes(True)
        if self.s_outvc is not None:
            st.saved_out_vcs = (self.s_outvc,)
            st.saved_out_versions = _INDEX_0
        self.scalar_op = 0
        if op == SC_SOFTMAX:
            st.sout = self.s_in0
        elif op < SC_STACK:
            n = self.n_inline
            sdata = [None] * n
            stens = [None] * n
            svers = [0] * n
            any_saved = False
            for i in range(n):
                save = False
                for j in spec.needed_by[i]:
                    if _edge(self, j) is not None:
                        save = True
                if save and self.s_in0 is not None:
                    a = self.s_in0 if i == 0 else self.s_in1
                    if isinstance(a, TensorBase):
                        sdata[i] = _f64_new(self.sv.f[i])
                        stens[i] = a
                        svers[i] = st.sver[i]
                    else:
                        sdata[i] = a
                    any_saved = True
            if any_saved and not self.freed:
                st.sdata = tuple(sdata)
                st.stens = tuple(stens)
                st.svers = tuple(svers)
            if spec.save_out and not self.freed:
                st.sout = _f64_new(self.sv.f[2])
        self.s_in0 = self.s_in1 = None
        self.s_outvc = None

    @cython.cdivision(True)
    cdef int _scalar_grads(self, object g, double* d) except -1:
        """The gradients ``d[0]``, ``d[1]`` of a scalar op's inputs for the output
        gradient ``g`` (a float64 scalar or 0-d array), on C doubles. 0: a saved value
        changed in place (the generic path then raises the full error)."""
        cdef double gd = _f64_of(g), x = self.sv.f[0], y = self.sv.f[1], out = self.sv.f[2]
        cdef Py_ssize_t i
        cdef TensorBase t
        cdef int op = self.scalar_op
        cdef object a
        if self.freed and self.s_saves:
            raise RuntimeError(_freed_message(type(self).__name__))
        if self.s_in0 is not None:
            for i in range(self.n_inline):
                a = self.s_in0 if i == 0 else self.s_in1
                if isinstance(a, TensorBase):
                    t = <TensorBase>a
                    if ((0 if t._vc is None else t._vc.value)
                            != (0 if self._x is None else (<_OpState>self._x).sver[i])):
                        return 0
        if self.s_outvc is not None and self.s_outvc.value != 0:
            return 0
        d[0] = d[1] = 0.0
        if op == SC_ADD:
            d[0] = gd; d[1] = gd
        elif op == SC_SUB:
            d[0] = gd; d[1] = -gd
        elif op == SC_MUL:
            d[0] = gd * y; d[1] = gd * x
        elif op == SC_DIV:
            d[0] = gd / y; d[1] = -gd * out / y
        elif op == SC_NEG:
            d[0] = -gd
        elif op == SC_SIN:
            d[0] = gd * cos(x)
        elif op == SC_COS:
            d[0] = -gd * sin(x)
        elif op == SC_EXP:
            d[0] = gd * out
        elif op == SC_LOG:
            d[0] = gd / x
        elif op == SC_TANH:
            d[0] = gd * (1.0 - out * out)
        elif op == SC_SIGMOID:
            d[0] = gd * (out * (1.0 - out))
        elif op == SC_SQRT:
            d[0] = gd / (out * 2.0)
        elif op == SC_SOFTPLUS:
            # y is beta; whether x * beta was above the threshold was found in forward
            d[0] = gd * (1.0 if self.s_above else -expm1(out * -y))
        return 1

    @cython.cdivision(True)
    cdef object _softmax_grad(self, object g):
        """A small softmax's input gradient out * (g - sum(g * out)) for the output
        gradient ``g`` (one float64 per element), as a new array. None: the output
        changed in place (the generic path then raises the full error)."""
        cdef Py_ssize_t i, n = self.sv.n[0]
        cdef cnp.npy_intp dim = n
        cdef cnp.ndarray res
        cdef char* gp = cnp.PyArray_BYTES(<cnp.ndarray>g)
        cdef Py_ssize_t gs = cnp.PyArray_STRIDE(<cnp.ndarray>g, 0)
        cdef double* o
        cdef double* r
        cdef double dot = 0.0
        if self.freed:
            raise RuntimeError(_freed_message(type(self).__name__))
        if self.s_outvc.value != 0:
            return None
        o = <double*>cnp.PyArray_DATA(<cnp.ndarray>self.s_in0)
        for i in range(n):
            dot += (<double*>(gp + i * gs))[0] * o[i]
        res = cnp.PyArray_EMPTY(1, &dim, cnp.NPY_DOUBLE, 0)
        r = <double*>cnp.PyArray_DATA(res)
        for i in range(n):
            r[i] = o[i] * ((<double*>(gp + i * gs))[0] - dot)
        return res

    cdef object _scalar_apply(self, object g, object needed):
        """First-order backward of a fast-path node, on C doubles: the list of input
        gradients (None: a saved value changed in place)."""
        cdef double d[2]
        cdef Py_ssize_t i, k, gs
        cdef cnp.ndarray res
        cdef char* gp
        cdef list result
        cdef int op = self.scalar_op
        if op < SC_STACK:
            if not self._scalar_grads(g, d):
                return None
            result = [None] * self.n_inline
            for i in range(self.n_inline):
                nxt = _edge(self, i)
                if nxt is not None and (needed is None or nxt in needed):
                    result[i] = _f64_new(d[i])
            return result
        if op == SC_STACK:
            # g: one float64 per stacked scalar
            gp = cnp.PyArray_BYTES(<cnp.ndarray>g)
            gs = cnp.PyArray_STRIDE(<cnp.ndarray>g, 0)
            k = _n_edges(self)
            result = [None] * k
            for i in range(k):
                nxt = _edge(self, i)
                if nxt is not None and (needed is None or nxt in needed):
                    result[i] = _f64_new((<double*>(gp + i * gs))[0])
            return result
        nxt = self._e0
        if op == SC_SELECT:
            if nxt is None or (needed is not None and nxt not in needed):
                return [None]
            return [_one_hot(self.sv.n[0], self.sv.n[1], _f64_of(g))]
        # softmax
        res = self._softmax_grad(g)
        if res is None:
            return None
        if nxt is None or (needed is not None and nxt not in needed):
            return [None]
        return [res]

    cdef int _scalar_run(self, object g, _Heap* heap, bint counted, dict tasks,
                         bint retain_graph) except -1:
        """``_scalar_apply`` in a backward: the gradients go straight into the next
        nodes' buffers, with no list per node, no float64 object where one is added
        into a buffer only this backward holds, and no zero vector per select.
        0: a saved value changed in place (nothing was done)."""
        cdef double d[2]
        cdef Py_ssize_t i, n, gs = 0
        cdef int op = self.scalar_op
        cdef char* gp = NULL
        cdef PyObject* p
        cdef _NodeTask q
        cdef object res
        if op < SC_STACK:
            if not self._scalar_grads(g, d):
                return 0
            n = self.n_inline
        elif op == SC_SOFTMAX:
            res = self._softmax_grad(g)
            if res is None:
                return 0
            n = 1
        else:
            n = _n_edges(self)
            if op == SC_STACK:      # g: one float64 per stacked scalar
                gp = cnp.PyArray_BYTES(<cnp.ndarray>g)
                gs = cnp.PyArray_STRIDE(<cnp.ndarray>g, 0)
        if not retain_graph:
            self._release()
        for i in range(n):
            p = _edge_ptr(self, i)
            if p == <PyObject*>None:
                continue
            q = _reach(heap, counted, tasks, self, p)
            if op < SC_STACK:
                _add_f64(q, _edge_index(self, i), d[i])
            elif op == SC_STACK:
                _add_f64(q, _edge_index(self, i), (<double*>(gp + i * gs))[0])
            elif op == SC_SELECT:
                _add_one_hot(q, _edge_index(self, i), self.sv.n[0], self.sv.n[1], _f64_of(g))
            else:
                _add_grad(q, _edge_index(self, i), res, True, False)
            _reached(heap, counted, q, p)
        return 1

    cdef object _release(self):
        cdef _OpState st
        self.freed = True
        self.s_in0 = self.s_in1 = None
        if self.scalar_op == 0 and self._x is not None:
            st = <_OpState>self._x
            st.sdata = None
            st.stens = None
            st.sout = None
            st.saved_out_tangent = None

    cdef object unpack_input(self, int i, bint tensor_path):
        cdef TensorBase t
        cdef _OpState st = <_OpState>self._x
        if self.freed:
            raise RuntimeError(_freed_message(type(self).__name__))
        t = st.stens[i]
        if t is not None and _t_vc(t).value != st.svers[i]:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been "
                "modified by an inplace operation: [Tensor of shape %s and dtype %s] "
                "is at version %d; expected version %d instead. It was saved by %s "
                "(op %s)." % (tuple(t._data.shape), t._data.dtype, _t_vc(t).value,
                              st.svers[i], type(self).__name__, self.spec.name))
        if tensor_path and t is not None:
            return t
        return st.sdata[i]

    cdef object unpack_out(self, bint tensor_path):
        cdef TensorBase t
        cdef Py_ssize_t k
        cdef _OpState st = <_OpState>self._x
        if self.freed:
            raise RuntimeError(_freed_message(type(self).__name__))
        if st.saved_out_vcs is not None:
            for k in range(len(st.saved_out_vcs)):
                if (<VersionCounter>st.saved_out_vcs[k]).value != st.saved_out_versions[k]:
                    raise RuntimeError(
                        "one of the variables needed for gradient computation has been "
                        "modified by an inplace operation: the output %d of %s (op %s) is at "
                        "version %d; expected version %d instead."
                        % (k, type(self).__name__, self.spec.name,
                           (<VersionCounter>st.saved_out_vcs[k]).value,
                           st.saved_out_versions[k]))
        if not tensor_path:
            return st.sout
        # Rebuild the output as a tensor whose grad_fn is this node, so that a
        # rule using ``out`` is differentiated through this node again.
        if self.spec.n_outputs == 0:
            return self._rebuilt_output(st.sout, 0, st.saved_out_tangent)
        tangents = st.saved_out_tangent or (None,) * len(st.sout)
        return tuple([self._rebuilt_output(o, k, tangents[k])
                      for k, o in enumerate(st.sout)])

    cdef TensorBase _rebuilt_output(self, object data, int k, object tangent):
        cdef TensorBase t = new_tensor(data)
        if self.spec.diff_outputs[k] and _is_float(data):
            t._grad_fn = self
            t._output_nr = k
            t._requires_grad = True
            if _is_tracked(self):
                _track_tensor(t)
        _set_tangent(t, tangent)
        return t

    cdef object resolve(self, tuple plan, object g, int index, bint tensor_path):
        cdef list args = []
        cdef int kind, k
        cdef _OpState st = <_OpState>self._x
        for src in plan:
            kind = src[0]
            k = src[1]
            if kind == SRC_G:
                args.append(g)
            elif kind == SRC_INPUT:
                args.append(self.unpack_input(k, tensor_path))
            elif kind == SRC_OUT:
                args.append(self.unpack_out(tensor_path))
            elif kind == SRC_PARAM:
                args.append(self.params[k])
            elif kind == SRC_SHAPE:
                args.append(st.in_shapes[k])
            elif kind == SRC_DTYPE:
                args.append(st.in_dtypes[k])
            elif kind == SRC_INDEX:
                args.append(index)
            elif kind == SRC_ALL_INPUTS:
                args.append(tuple([self.unpack_input(j, tensor_path)
                                   for j in range(len(st.in_shapes))]))
            elif kind == SRC_ALL_SHAPES:
                args.append(st.in_shapes)
            else:
                raise RuntimeError("bad plan source %d in %s" % (kind, self.spec.name))
        return args

    cdef list _apply(self, list grads, bint tensor_path, int batch_ndim, object needed):
        cdef OpSpec spec = self.spec
        cdef Py_ssize_t i, n = _n_edges(self)
        cdef list result
        cdef object g, gi, nxt, rule
        cdef int variadic = spec.n_inputs < 0
        cdef _OpState st
        if self.scalar_op != 0:
            g = grads[0]
            if g is not None and not tensor_path and batch_ndim == 0 and _fast_grad_ok(self, g):
                fast = self._scalar_apply(g, needed)
                if fast is not None:
                    return <list>fast
            self._materialize()
        st = <_OpState>self._x
        result = [None] * n
        if spec.n_outputs == 0:
            g = grads[0]
            if g is None:
                return result
        else:
            g = tuple(grads)
            if _all_none(grads):
                return result
        cdef bint in_graph = tensor_path and _flags().grad_enabled     # create_graph
        for i in range(n):
            nxt = _edge(self, i)
            if nxt is None:
                continue
            if needed is not None and nxt not in needed:
                continue
            rule = spec.vjp_rules[0 if variadic else i]
            if rule is None:
                continue
            plan = spec.vjp_plans[0 if variadic else i]
            if batch_ndim > 0 and not spec.batch_ok:
                gi = _batched_loop(self, rule, plan, g, i, tensor_path, batch_ndim)
            elif spec.vjp_pass is not None and spec.vjp_pass[0 if variadic else i]:
                gi = g          # add, sub's x, copies: what the rule would return
            else:
                gi = rule(*self.resolve(plan, g, i, tensor_path))
            gi = _fitted(gi, st, i, tensor_path, batch_ndim)
            if (in_graph and gi is not None
                    and not (isinstance(gi, TensorBase) and (<TensorBase>gi)._requires_grad)
                    and self._reads_values(plan)):
                gi = _with_zero_derivative(gi, self._zero_derivative(i))
            result[i] = gi
        return result

    cdef bint _reads_values(self, tuple plan):
        """Whether a rule reads values its result may vary with: the output, an input
        that carries gradient, a non-differentiable input (where's condition) or an
        array parameter (an index array or mask)."""
        cdef Py_ssize_t j
        for src in plan:
            kind = src[0]
            if kind == SRC_OUT:
                return True
            if kind == SRC_INPUT:
                if _edge(self, src[1]) is not None or self.spec.vjp_rules[src[1]] is None:
                    return True
            elif kind == SRC_ALL_INPUTS:
                for j in range(_n_edges(self)):
                    if _edge(self, j) is not None:
                        return True
            elif kind == SRC_PARAM and _holds_array(self.params[src[1]]):
                return True
        return False

    cdef Node _zero_derivative(self, Py_ssize_t i):
        """A ZeroDerivative node with an edge to input ``i``, named after this node
        (ReluBackward0's is ReluBackwardBackward0, as PyTorch names double-backward
        nodes)."""
        name = type(self).__name__.rstrip("0123456789") + "Backward0"
        cls = self.spec.node_classes.get(name)
        if cls is None:
            cls = self.spec.node_classes[name] = make_node_class(name, ZeroDerivative)
        cdef Node node = <Node>_new_instance(cls)
        node.num_outputs = 1
        _set_edge1(node, _edge(self, i), _edge_index(self, i))
        if _points_to_tracked(node):
            _track_node(node)
        return node

    cdef list _apply_into(self, object g, object needed):
        """``_apply`` of a one-input op with ``spec.vjp_into``, on a first-order
        gradient ``g`` that the caller owns (the rule may write into it)."""
        cdef OpSpec spec = self.spec
        cdef list result = [None]
        nxt = _edge(self, 0)
        if nxt is None or (needed is not None and nxt not in needed):
            return result
        if self.scalar_op != 0:
            self._materialize()
        gi = spec.vjp_into(*self.resolve(spec.vjp_plans[0], g, 0, False))
        result[0] = _fitted(gi, <_OpState>self._x, 0, False, 0)
        return result


cdef bint _holds_array(object p):
    if isinstance(p, ndarray):
        return True
    if type(p) is tuple or type(p) is list:
        for x in p:
            if isinstance(x, ndarray) or type(x) is list:
                return True
    return False


cdef TensorBase _with_zero_derivative(object gi, Node node):
    """``gi`` as a tensor whose grad_fn is ``node``."""
    cdef TensorBase t = new_tensor((<TensorBase>gi)._data if isinstance(gi, TensorBase) else gi)
    t._grad_fn = node
    t._requires_grad = True
    if _is_tracked(node):
        _track_tensor(t)
    return t


cdef inline object _fitted(object gi, _OpState st, Py_ssize_t i, bint tensor_path,
                           int batch_ndim):
    """A rule's result for input ``i``, made to fit it (shape, dtype)."""
    if gi is None:
        return None
    if not tensor_path and isinstance(gi, TensorBase):
        # a rule that calls an op returns a Tensor: first-order gradients stay raw
        # arrays (the fast path everywhere downstream)
        gi = (<TensorBase>gi)._data
    return fit_gradient(gi, st.in_shapes[i], st.in_dtypes[i], batch_ndim)


cdef inline bint _all_none(list xs):
    for x in xs:
        if x is not None:
            return False
    return True


cdef object _batched_loop(OpNode node, object rule, tuple plan, object g, int i,
                          bint tensor_path, int batch_ndim):
    """Apply a rule that does not accept batch axes once per batch element."""
    cdef list parts = []
    cdef Py_ssize_t b, nb
    if batch_ndim != 1:
        raise RuntimeError("%s: only one batch axis is supported" % node.spec.name)
    gs = g if isinstance(g, tuple) else (g,)
    nb = next(x for x in gs if x is not None).shape[0]
    for b in range(nb):
        if isinstance(g, tuple):
            gb = tuple([None if x is None else x[b] for x in g])
        else:
            gb = g[b]
        part = rule(*node.resolve(plan, gb, i, tensor_path))
        part = fit_gradient(part, (<_OpState>node._x).in_shapes[i],
                            (<_OpState>node._x).in_dtypes[i], 0)
        parts.append(part)
    return _stack(parts)


cdef object _stack_fn = None


def set_stack_function(fn):
    """Register the differentiable stack used by the batched fallback."""
    global _stack_fn
    _stack_fn = fn


cdef object _stack(list parts):
    if isinstance(parts[0], TensorBase):
        return _stack_fn(parts)
    return np.stack(parts)


cdef object _sum_to_fn = None


def set_sum_to_function(fn):
    """Register the differentiable 'sum back to shape' used on the tensor path."""
    global _sum_to_fn
    _sum_to_fn = fn


cdef extern from *:
    """
    /* One copy of the row sum per instruction set, chosen at load time (as in
       _ad_trig.h): the vectors run across the columns, so every width gives the
       same bits. */
    #if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__) \
        && defined(__GLIBC__) && defined(__has_attribute)
    #if __has_attribute(target_clones)
    #define AD_SUM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
    #endif
    #endif
    #ifndef AD_SUM_CLONES
    #define AD_SUM_CLONES
    #endif
    /* out[j] = sum over i of src[i * cols + j], summed in row order */
    AD_SUM_CLONES
    static void ad_sum_rows(const double *__restrict src, Py_ssize_t rows, Py_ssize_t cols,
                            double *__restrict out) {
        Py_ssize_t i, j;
        if (rows == 0) {
            for (j = 0; j < cols; j++) out[j] = 0.0;
            return;
        }
        for (j = 0; j < cols; j++) out[j] = src[j];
        for (i = 1; i < rows; i++) {
            const double *row = src + i * cols;
            for (j = 0; j < cols; j++) out[j] += row[j];
        }
    }
    """
    void _ad_sum_rows "ad_sum_rows"(const double* src, Py_ssize_t rows, Py_ssize_t cols,
                                    double* out)


cdef inline bint _f64_c_array(object a):
    return (cnp.PyArray_TYPE(<cnp.ndarray>a) == cnp.NPY_DOUBLE
            and cnp.PyArray_ISCARRAY_RO(<cnp.ndarray>a))


cdef object _sum_leading_rows(cnp.ndarray g, int lead):
    """``g`` (C-contiguous float64) summed over its first ``lead`` axes, into a new array:
    row by row, as NumPy's add.reduce does (same bits), without its ~2 us of set-up
    (the bias gradients of a small training step) and, vectorised across the columns,
    faster than its loop at every size (1.4x at 512 x 1024, 6x at 100,000 x 4).
    None: leave it to add.reduce."""
    cdef Py_ssize_t rows = 1, cols = 1
    cdef int k
    for k in range(lead):
        rows *= cnp.PyArray_DIM(g, k)
    for k in range(lead, cnp.PyArray_NDIM(g)):
        cols *= cnp.PyArray_DIM(g, k)
    if cols < 2:
        # one column is a contiguous sum, which NumPy does pairwise (more accurate)
        return None
    # shape is g's shape without the first ``lead`` axes
    out = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(g) - lead, cnp.PyArray_DIMS(g) + lead,
                            cnp.NPY_DOUBLE, 0)
    _ad_sum_rows(<const double*>cnp.PyArray_DATA(g), rows, cols,
                 <double*>cnp.PyArray_DATA(<cnp.ndarray>out))
    return out


cpdef object sum_to_shape(object g, tuple shape, int batch_ndim):
    """Sum a broadcast gradient back to ``shape`` (keeping ``batch_ndim`` leading axes)."""
    cdef tuple gshape = g.shape
    cdef int lead = len(gshape) - batch_ndim - len(shape)
    cdef list axes = []
    cdef int k
    if lead < 0:
        raise RuntimeError("gradient of shape %s cannot be summed to shape %s"
                           % (gshape, shape))
    for k in range(lead):
        axes.append(batch_ndim + k)
    cdef bint only_leading = True
    for k in range(len(shape)):
        if shape[k] == 1 and gshape[batch_ndim + lead + k] != 1:
            axes.append(batch_ndim + lead + k)
            only_leading = False
    if axes and only_leading and batch_ndim == 0 and type(g) is ndarray and _f64_c_array(g):
        summed = _sum_leading_rows(<cnp.ndarray>g, lead)
        if summed is not None:
            return summed
    if axes and only_leading:
        # a fresh array of the target shape (a reshaped keepdims sum would be a view,
        # which the engine could not accumulate into and .grad would copy)
        g = _np_add.reduce(g, axis=tuple(axes))   # (ndarray.sum goes through a Python wrapper)
    elif axes:
        g = _np_add.reduce(g, axis=tuple(axes), keepdims=True)
    target = tuple(gshape[:batch_ndim]) + shape
    if g.shape != target:
        g = g.reshape(target)
    return g


cdef inline bint _same_shape(cnp.ndarray a, tuple shape):
    """a.shape == shape without building a.shape's tuple."""
    cdef int k, nd = cnp.PyArray_NDIM(a)
    cdef cnp.npy_intp* dims
    if nd != len(shape):
        return False
    dims = cnp.PyArray_DIMS(a)
    for k in range(nd):
        if dims[k] != <cnp.npy_intp>shape[k]:
            return False
    return True


cdef inline object fit_gradient(object g, tuple shape, object dtype, int batch_ndim):
    """Bring a rule's result to its input's shape and dtype (unbroadcast, cast)."""
    cdef tuple gshape
    cdef object gd
    if batch_ndim == 0 and type(g) is ndarray:
        if not _same_shape(<cnp.ndarray>g, shape):
            g = sum_to_shape(g, shape, 0)
    elif batch_ndim == 0 and isinstance(g, _np_generic):
        if len(shape) != 0:
            g = sum_to_shape(_asarray(g), shape, 0)
    else:
        if isinstance(g, TensorBase):
            gshape = (<TensorBase>g)._data.shape
        elif type(g) is ndarray or isinstance(g, _np_generic):
            gshape = g.shape
        else:
            g = _asarray(g)
            gshape = g.shape
        if batch_ndim == 0:
            if gshape != shape:
                if isinstance(g, TensorBase):
                    g = _sum_to_fn(g, shape, 0)
                else:
                    g = sum_to_shape(g, shape, 0)
        elif gshape[batch_ndim:] != shape or len(gshape) != batch_ndim + len(shape):
            if isinstance(g, TensorBase):
                g = _sum_to_fn(g, shape, batch_ndim)
            else:
                g = sum_to_shape(g, shape, batch_ndim)
    if dtype is not None:
        gd = g.dtype
        if gd is not dtype and gd != dtype:   # dtypes are usually the same singleton
            g = g.astype(dtype)
    return g


# ---------------------------------------------------------------------------
# Custom Function nodes
# ---------------------------------------------------------------------------

cdef class FunctionNode(Node):
    """Backward node of a custom ``autograd.Function``; calls its ``backward``."""
    cdef public object ctx
    cdef public object function_cls
    cdef public tuple in_shapes
    cdef public tuple in_dtypes
    cdef public tuple out_shapes
    cdef public tuple out_dtypes
    cdef public bint freed

    def __dealloc__(self):
        cdef bint deep = _free_deep(self._e0, self._e1, None, None)
        self._e0 = self._e1 = None
        if not deep:
            _free_done()

    cdef object _release(self):
        self.freed = True
        if self.ctx is not None:
            self.ctx._free_saved()

    cdef list _apply(self, list grads, bint tensor_path, int batch_ndim, object needed):
        cdef Py_ssize_t i, n = _n_edges(self)
        cdef list result = [None] * n
        if self.ctx.materialize_grads:
            grads = [(_zeros_grad(self.out_shapes[k], self.out_dtypes[k], tensor_path)
                      if grads[k] is None else grads[k]) for k in range(len(grads))]
        elif _all_none(grads):
            return result
        args = [_as_grad_tensor(x) for x in grads]
        out = self.function_cls.backward(self.ctx, *args)
        if not isinstance(out, tuple):
            out = (out,)
        if len(out) < n or not _all_none(list(out[n:])):
            raise RuntimeError(
                "function %s returned an incorrect number of gradients (expected %d, got %d)"
                % (type(self).__name__, n, len(out)))
        for i in range(n):
            gi = out[i]
            if gi is None:
                continue
            if self.in_dtypes[i] is None:
                raise RuntimeError(
                    "function %s returned a gradient different than None at position %d, "
                    "but the corresponding forward input was not a Tensor"
                    % (type(self).__name__, i + 1))
            if _edge(self, i) is not None:
                result[i] = _function_grad(self, i, gi, tensor_path, batch_ndim)
        return result


cdef object _function_grad(FunctionNode node, Py_ssize_t i, object gi, bint tensor_path,
                           int batch_ndim):
    """The gradient a Function's backward returned for input ``i``, checked as PyTorch's
    engine does (type, dtype, a shape the input's expands to), summed to the input's
    shape and cast to its dtype."""
    cdef tuple shape = node.in_shapes[i]
    name = type(node).__name__
    dtype = node.in_dtypes[i]
    data = _user_data(gi)
    if data is None:
        raise TypeError("function %s returned a %s as the gradient at index %d: backward "
                        "returns a Tensor (or an ndarray) or None per input"
                        % (name, type(gi).__name__, i))
    gdt = data.dtype
    if gdt.kind not in "biufc" or (gdt.kind == "c" and dtype.kind != "c"):
        raise RuntimeError("function %s returned a gradient of dtype %s at index %d for an "
                           "input of dtype %s" % (name, gdt, i, dtype))
    gshape = tuple(data.shape)
    if gshape[batch_ndim:] != shape and not _expandable(shape, gshape[batch_ndim:]):
        raise RuntimeError("Function %s returned an invalid gradient at index %d - got %s "
                           "but expected shape compatible with %s"
                           % (name, i, list(gshape), list(shape)))
    if tensor_path and isinstance(gi, TensorBase) and (<TensorBase>gi)._requires_grad:
        return fit_gradient(gi, shape, dtype, batch_ndim)     # differentiable sum and cast
    g = fit_gradient(native_array(data, dtype), shape, None, batch_ndim)
    return new_tensor(g) if tensor_path else g


cdef bint _expandable(tuple shape, tuple target):
    """An array of ``shape`` broadcasts to ``target`` (PyTorch's is_expandable_to)."""
    cdef Py_ssize_t k, n = len(shape), m = len(target)
    if n > m:
        return False
    for k in range(1, n + 1):
        if shape[n - k] != 1 and shape[n - k] != target[m - k]:
            return False
    return True


cdef inline object _native_dtype(object dtype):
    return dtype if dtype.isnative else dtype.newbyteorder("=")


cpdef bint same_dtype(object a, object b):
    """``a`` and ``b`` are one dtype, perhaps in different byte orders.

    >>> import numpy as np
    >>> same_dtype(np.dtype(">f8"), np.dtype(np.float64)), same_dtype(np.dtype("f4"), np.dtype("f8"))
    (True, False)
    """
    return a == b or _native_dtype(a) == _native_dtype(b)


cpdef object native_array(object a, object dtype):
    """``a`` (an ndarray or NumPy scalar handed in by user code) as data the compiled
    loops can read: ``dtype`` in native byte order, aligned and C-contiguous. A copy
    only when ``a`` is not that already (NumPy scalars are always native).

    >>> import numpy as np
    >>> native_array(np.arange(3.0).astype(">f8")[::-1], np.dtype(np.float64)).tolist()
    [2.0, 1.0, 0.0]
    """
    dtype = _native_dtype(np.dtype(dtype))
    if isinstance(a, _np_generic):
        return a if a.dtype == dtype else a.astype(dtype)
    if (type(a) is ndarray and (<cnp.ndarray>a).descr == dtype
            and cnp.PyArray_ISCARRAY_RO(<cnp.ndarray>a)):
        return a
    return np.array(a, dtype=dtype, order="C")


cdef object _zeros_grad(tuple shape, object dtype, bint tensor_path):
    z = np.zeros(shape, dtype=dtype)
    return new_tensor(z) if tensor_path else z


cdef object _as_grad_tensor(object g):
    if g is None or isinstance(g, TensorBase):
        return g
    return new_tensor(_asarray(g))


# ---------------------------------------------------------------------------
# Recording an op (the dispatch hot path)
# ---------------------------------------------------------------------------

cdef inline bint _is_float(object arr):
    cdef char kind
    if type(arr) is ndarray:
        kind = (<cnp.ndarray>arr).descr.kind
        return kind == b'f' or kind == b'c'
    return arr.dtype.kind == 'f' or arr.dtype.kind == 'c'


cdef inline bint _is_complex(object arr):
    if type(arr) is ndarray:
        return (<cnp.ndarray>arr).descr.kind == b'c'
    return arr.dtype.kind == 'c'


cdef _refuse_complex(OpSpec spec, object out):
    # Until complex autograd lands, a complex result of inputs that take part in
    # autograd would carry a wrong (non-Wirtinger) gradient: refuse to record it.
    raise RuntimeError(
        "%s: the result has dtype %s, and complex autograd is not supported yet (its "
        "gradient would be wrong); detach() the inputs or keep the computation real"
        % (spec.name, out.dtype))


cdef object _anomaly_capture = None


def set_anomaly_capture(fn):
    """Register the function that captures a forward stack trace in anomaly mode."""
    global _anomaly_capture
    _anomaly_capture = fn


# ---------------------------------------------------------------------------
# The float64-scalar fast path: ops on 0-d float64 tensors (and Python numbers)
# computed on C doubles, recorded with the doubles their backward needs. The
# formulas are the same as the rules in autodiff/ops (same operations in the
# same order, so the same bits); anything else takes the generic path.
# ---------------------------------------------------------------------------

cdef enum:
    SC_NONE = 0
    SC_ADD
    SC_SUB
    SC_MUL
    SC_DIV
    SC_NEG
    SC_SIN
    SC_COS
    SC_EXP
    SC_LOG
    SC_TANH
    SC_SIGMOID
    SC_SQRT
    SC_SOFTPLUS
    # small-vector ops (from here on, see _vector_dispatch)
    SC_STACK
    SC_SOFTMAX
    SC_SELECT

SCALAR_OPS = {"add": SC_ADD, "sub": SC_SUB, "mul": SC_MUL, "div": SC_DIV, "neg": SC_NEG,
              "sin": SC_SIN, "cos": SC_COS, "exp": SC_EXP, "log": SC_LOG, "tanh": SC_TANH,
              "sigmoid": SC_SIGMOID, "sqrt": SC_SQRT, "softplus": SC_SOFTPLUS,
              "stack": SC_STACK, "softmax": SC_SOFTMAX, "getitem": SC_SELECT}

cdef object _F64_DTYPE = np.dtype(np.float64)


cdef inline bint _is_f64_value(object g):
    """A float64 NumPy scalar, or a 0-d native float64 array."""
    return _is_f64(g) or (type(g) is ndarray and cnp.PyArray_NDIM(<cnp.ndarray>g) == 0
                          and cnp.PyArray_TYPE(<cnp.ndarray>g) == cnp.NPY_DOUBLE
                          and cnp.PyArray_ISBEHAVED_RO(<cnp.ndarray>g))


cdef inline double _f64_of(object g):
    """The value of a gradient that _is_f64_value accepts."""
    if _is_f64(g):
        return _f64_val(g)
    return (<double*>cnp.PyArray_DATA(<cnp.ndarray>g))[0]


cdef inline bint _scalar_operand(object a, double* v, bint* is_tensor, bint* grad):
    """Read a fast-path operand into ``v``; False when ``a`` needs the generic path."""
    cdef TensorBase t
    cdef object d
    cdef long long iv
    cdef int overflow = 0
    if isinstance(a, TensorBase):
        t = <TensorBase>a
        if _has_tangent(t):
            return False
        d = t._data
        if _is_f64(d):
            v[0] = _f64_val(d)
        elif _is_f64_value(d):
            v[0] = (<double*>cnp.PyArray_DATA(<cnp.ndarray>d))[0]
        else:
            return False
        is_tensor[0] = True
        grad[0] = t._requires_grad
        return True
    is_tensor[0] = False
    grad[0] = False
    if type(a) is float:
        v[0] = PyFloat_AS_DOUBLE(a)
        return True
    if type(a) is int:
        # exactly representable ints only (NumPy converts a Python int to float64)
        iv = PyLong_AsLongLongAndOverflow(a, &overflow)
        if overflow or iv > 9007199254740992 or iv < -9007199254740992:
            return False
        v[0] = <double>iv
        return True
    return False


cdef tuple _INDEX_0 = (0,)


cdef inline tuple _untracked(tuple t):
    """``t`` untracked by the cyclic GC when none of its items is tracked."""
    if not PyObject_GC_IsTracked(t):      # (the empty tuple, shared parameter tuples)
        return t
    for x in t:
        if PyObject_GC_IsTracked(x):
            return t
    PyObject_GC_UnTrack(t)
    return t


cdef inline void _save_version(OpNode node, int i, object a):
    """Record the version of the scalar node's input ``a`` (0, the usual one, is
    the default: the generic record is allocated only for another)."""
    cdef VersionCounter vc = (<TensorBase>a)._vc
    if vc is not None and vc.value != 0:
        node._state().sver[i] = vc.value


cdef inline bint _fast_grad_ok(OpNode node, object g):
    """Whether ``g`` is a gradient that the node's C backward takes."""
    cdef int op = node.scalar_op
    if op < SC_STACK or op == SC_SELECT:
        return _is_f64_value(g)
    # stack and softmax: one float64 per element of their 1-d output
    return (type(g) is ndarray and cnp.PyArray_NDIM(<cnp.ndarray>g) == 1
            and cnp.PyArray_TYPE(<cnp.ndarray>g) == cnp.NPY_DOUBLE
            and cnp.PyArray_ISBEHAVED_RO(<cnp.ndarray>g)       # aligned, native byte order
            and cnp.PyArray_DIM(<cnp.ndarray>g, 0) == node.sv.n[0])


# Small-vector ops: what the generic path records, built in C. A softmax longer than
# this takes the generic path (where NumPy's vectorised loops pay off).
cdef Py_ssize_t _SMALL_SOFTMAX = 64
cdef list _scalar_shape_tuples = []     # n -> (((),) * n, (float64,) * n)
cdef object _select_cls = None           # SelectBackward0 (getitem's node for an int index)


cdef list _vector_shapes = []           # n -> ((n,),): in_shapes of a 1-d input


cdef inline tuple _vector_shape(Py_ssize_t n):
    while len(_vector_shapes) <= n:
        _vector_shapes.append(((len(_vector_shapes),),))
    return <tuple>_vector_shapes[n]


cdef inline tuple _scalars_shapes(Py_ssize_t n, bint dtypes):
    while len(_scalar_shape_tuples) <= n:
        k = len(_scalar_shape_tuples)
        _scalar_shape_tuples.append((((),) * k, (_F64_DTYPE,) * k))
    return <tuple>(<tuple>_scalar_shape_tuples[n])[1 if dtypes else 0]


cdef inline bint _f64_scalar_tensor(object a, double* v):
    """A tensor holding one float64 (0-d), without a tangent: its value in ``v``."""
    cdef TensorBase t
    if not isinstance(a, TensorBase):
        return False
    t = <TensorBase>a
    if _has_tangent(t):
        return False
    d = t._data
    if _is_f64(d):
        v[0] = _f64_val(d)
        return True
    if _is_f64_value(d):
        v[0] = (<double*>cnp.PyArray_DATA(<cnp.ndarray>d))[0]
        return True
    return False


cdef inline cnp.ndarray _f64_vector_of(object a):
    """The data of a 1-d float64 tensor without a tangent (None otherwise)."""
    cdef TensorBase t
    if not isinstance(a, TensorBase):
        return None
    t = <TensorBase>a
    if _has_tangent(t):
        return None
    d = t._data
    if (type(d) is ndarray and cnp.PyArray_NDIM(<cnp.ndarray>d) == 1
            and cnp.PyArray_TYPE(<cnp.ndarray>d) == cnp.NPY_DOUBLE
            and cnp.PyArray_ISALIGNED(<cnp.ndarray>d)
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>d)):
        return <cnp.ndarray>d
    return None


@cython.cdivision(True)     # IEEE division: 0/0 is nan, as in NumPy
cdef object _vector_dispatch(OpSpec spec, tuple inputs, object a, tuple params):
    """stack of float64 scalars (``inputs``), softmax of a short float64 vector and an
    int select from a float64 vector (their one input ``a``: no tuple made for it),
    built in C; None: the generic path."""
    global _select_cls
    cdef int op = spec.scalar_op
    cdef Py_ssize_t i, n, k
    cdef cnp.npy_intp dim
    cdef cnp.ndarray x, out
    cdef double* o
    cdef char* xp
    cdef Py_ssize_t xs
    cdef double v, m, total
    cdef bint any_grad = False, finite
    cdef long long index
    cdef int overflow = 0
    cdef Flags fl
    cdef OpNode node
    cdef TensorBase result, src
    cdef tuple nexts, idxs
    if isinstance(a, TensorBase):
        _sync_view(<TensorBase>a)
    if op == SC_STACK:
        n = len(inputs)
        if n == 0 or len(params) != 1 or params[0] != 0:
            return None
        dim = n
        out = cnp.PyArray_EMPTY(1, &dim, cnp.NPY_DOUBLE, 0)
        o = <double*>cnp.PyArray_DATA(out)
        for i in range(n):
            if not _f64_scalar_tensor(inputs[i], &o[i]):
                return None
            _sync_view(<TensorBase>inputs[i])
            if (<TensorBase>inputs[i])._requires_grad:
                any_grad = True
        fl = _flags()
        if fl.anomaly:
            return None
        result = new_tensor(out)
        if not (any_grad and fl.grad_enabled):
            return result
        node = <OpNode>_new_instance(spec.node_cls)
        nexts = _filled_tuple(n, None)
        idxs = _zero_indices(n)
        for i in range(n):
            e = _edge_node(spec, inputs[i], i, True)
            if e is not None:
                _tuple_set(nexts, i, e)
                k = (<TensorBase>inputs[i])._output_nr
                if k != 0:               # (rare: an output k > 0 of a multi-output op)
                    if idxs is _zero_indices(n):
                        idxs = _filled_tuple(n, 0)      # the shared tuple is not changed
                    _tuple_set(idxs, i, k)
        _set_node_edges(node, _untracked(nexts), _untracked(idxs))
    elif op == SC_SOFTMAX:
        x = _f64_vector_of(a)
        if x is None or len(params) != 1 or params[0] != -1:
            return None
        n = cnp.PyArray_DIM(x, 0)
        if n == 0 or n > _SMALL_SOFTMAX:
            return None
        fl = _flags()
        if fl.anomaly:
            return None
        # exp(x - max) / sum: a max that is not finite (inf, nan) shifts by 0, as
        # ops/nn.py's _shifted does
        xp = cnp.PyArray_BYTES(x)
        xs = cnp.PyArray_STRIDE(x, 0)
        m = (<double*>xp)[0]
        finite = True
        for i in range(n):
            v = (<double*>(xp + i * xs))[0]
            if v != v:
                finite = False
            elif v > m:
                m = v
        if not finite or m - m != 0.0:
            m = 0.0
        dim = n
        out = cnp.PyArray_EMPTY(1, &dim, cnp.NPY_DOUBLE, 0)
        o = <double*>cnp.PyArray_DATA(out)
        total = 0.0
        for i in range(n):
            o[i] = exp((<double*>(xp + i * xs))[0] - m)
            total += o[i]
        for i in range(n):
            o[i] = o[i] / total
        result = new_tensor(out)
        src = <TensorBase>a
        if not (src._requires_grad and fl.grad_enabled):
            return result
        node = <OpNode>_new_instance(spec.node_cls)
        e = _edge_node(spec, src, 0, False)
        _set_edge1(node, e, src._output_nr)
        node.s_in0 = out
        node.s_outvc = _t_vc(result)
        node.s_saves = True
    else:   # SC_SELECT: x[index] for an int index, a 0-d view
        if len(params) != 1 or type(params[0]) is not int:
            return None
        x = _f64_vector_of(a)
        if x is None:
            return None
        n = cnp.PyArray_DIM(x, 0)
        index = PyLong_AsLongLongAndOverflow(params[0], &overflow)
        if overflow or index >= n or index < -n:
            return None             # the generic path raises the IndexError
        if index < 0:
            index += n
        fl = _flags()
        if fl.anomaly:
            return None
        src = <TensorBase>a
        result = new_tensor(_f64_view0(x, cnp.PyArray_BYTES(x) + index * cnp.PyArray_STRIDE(x, 0)))
        result._vc = _t_vc(src)
        result._base = src if src._base is None else src._base
        if _is_tracked(result._base):
            _track_tensor(result)
        if not (src._requires_grad and fl.grad_enabled):
            return result
        if _select_cls is None:
            _select_cls = _variant_class(spec, [x], params)
        node = <OpNode>_new_instance(_select_cls)
        e = _edge_node(spec, src, 0, False)
        _set_edge1(node, e, src._output_nr)
        node.sv.n[1] = index
    node.spec = spec
    node.params = _untracked(params)
    node.num_outputs = 1
    node.scalar_op = op
    node.sv.n[0] = n
    result._grad_fn = node
    result._requires_grad = True
    if (_points_to_tracked(node) if op == SC_STACK
            else _edges_tracked(<PyObject*>node._e0, <PyObject*>None)):
        _track_node(node)
        _track_tensor(result)
    return result


cdef OpSpec _SPEC_STACK = None, _SPEC_SOFTMAX = None, _SPEC_GETITEM = None


# -- views after in-place writes ----------------------------------------------------
# A view's grad_fn is derived from its source's history when the view is made. An
# in-place write through the source or another view of the same memory changes that
# history (and counts in grad_writes): a view made before it is derived again on its
# next use, as PyTorch regenerates a view's grad_fn, so that it never hands on a
# gradient of values it no longer holds.
cdef inline tuple _view_info(TensorBase t):
    """(source, spec, params, grad_writes when derived) of a view, else None."""
    src = t._view_src
    if src is None:
        return None
    if type(src) is int:
        return (t._base, _SPEC_GETITEM, (src,), 0)
    return <tuple>src


cdef inline int _sync_view(TensorBase t) except -1:
    """Derive ``t``'s autograd state again if it is a view made before an in-place
    write changed its memory's history (one pointer test for other tensors)."""
    cdef object src
    cdef long stamp
    if t._base is None:
        return 0
    src = t._view_src
    if src is None or t._vc is None:
        return 0
    stamp = 0 if type(src) is int else <long>(<tuple>src)[3]
    if t._vc.grad_writes != stamp:
        _refresh_view(t)
    return 0


cdef int _refresh_view(TensorBase t) except -1:
    source, spec, params, _ = _view_info(t)
    cdef Flags fl = _flags()
    cdef bint prev = fl.grad_enabled
    fl.grad_enabled = True      # the history is the data's, whatever the mode of this use
    try:
        fresh = (<OpSpec>spec).module_func(source, *params)
    finally:
        fl.grad_enabled = prev
    t._grad_fn = (<TensorBase>fresh)._grad_fn
    t._output_nr = (<TensorBase>fresh)._output_nr
    t._requires_grad = (<TensorBase>fresh)._requires_grad
    tangent = _live_tangent(<TensorBase>fresh)
    if tangent is not None:
        _set_tangent(t, tangent)
    t._view_src = _untracked((source, spec, params, t._vc.grad_writes))
    return 0


def sync_view(TensorBase t):
    """Bring a view's autograd state up to date after in-place writes to its memory."""
    _sync_view(t)


def set_vector_ops(OpSpec stack, OpSpec softmax, OpSpec getitem):
    """Register the ops behind ``stack_scalars``, ``softmax_vector`` and ``select``."""
    global _SPEC_STACK, _SPEC_SOFTMAX, _SPEC_GETITEM
    _SPEC_STACK, _SPEC_SOFTMAX, _SPEC_GETITEM = stack, softmax, getitem


# Entry points for the public functions: the common small cases skip the Python
# layers (argument checks, normalisation) that they do not need. None: not such a case.
def stack_scalars(object tensors, object dim):
    """``stack(tensors, dim)`` for a list or tuple of 0-d float64 tensors, else None."""
    if (type(tensors) is not list and type(tensors) is not tuple) or not (
            dim is None or (type(dim) is int and (dim == 0 or dim == -1))):
        return None
    return _vector_dispatch(_SPEC_STACK, tuple(tensors), None, _PARAMS_0)


def softmax_vector(object x, object dim):
    """``softmax(x, dim)`` for a short 1-d float64 tensor and dim 0 or -1, else None."""
    if type(dim) is not int or not (dim == 0 or dim == -1):
        return None
    return _vector_dispatch(_SPEC_SOFTMAX, None, x, _PARAMS_MINUS_1)


def select(object x, object index):
    """``x[index]`` for a 1-d float64 tensor and an int in range, else None."""
    return _select(x, index)


# (i,) for the small ints i, the parameters of most selects (no tuple per select)
cdef tuple _INDEX_PARAMS = tuple([(i,) for i in range(-64, 256)])


cdef object _select(object x, object index):
    cdef long long i
    cdef int overflow = 0
    if type(index) is not int:
        return None
    i = PyLong_AsLongLongAndOverflow(index, &overflow)
    params = (<tuple>_INDEX_PARAMS[i + 64] if not overflow and -64 <= i < 256
              else _untracked((index,)))
    result = _vector_dispatch(_SPEC_GETITEM, None, x, params)
    if result is not None:
        if (<TensorBase>result)._base is x and (<TensorBase>result)._vc.grad_writes == 0:
            (<TensorBase>result)._view_src = index       # stands for (x, getitem, (index,), 0)
        else:
            (<TensorBase>result)._view_src = _untracked(
                (x, _SPEC_GETITEM, params, (<TensorBase>result)._vc.grad_writes))
    return result


cdef tuple _PARAMS_0 = (0,)
cdef tuple _PARAMS_MINUS_1 = (-1,)


cdef object _scalar_dispatch(OpSpec spec, tuple inputs, tuple params):
    """Run a fast-path op, or return None for the generic path."""
    cdef Py_ssize_t n = len(inputs)
    if spec.scalar_op >= SC_STACK:
        if spec.scalar_op != SC_STACK and n != 1:
            return None
        return _vector_dispatch(spec, inputs, inputs[0] if n == 1 else None, params)
    if n == 1:
        return _scalar_op(spec, 1, inputs[0], None, params)
    if n == 2:
        return _scalar_op(spec, 2, inputs[0], inputs[1], params)
    return None


cdef object _scalar_op(OpSpec spec, Py_ssize_t n, object a0, object a1, tuple params):
    """``_scalar_dispatch`` of a scalar op on its ``n`` (1 or 2) inputs ``a0``, ``a1``,
    passed one by one (the operators' slots make no tuple for them)."""
    cdef double x = 0.0, y = 0.0, out, beta = 0.0, thr = 0.0, z = 0.0
    cdef bint t0 = False, t1 = False, g0 = False, g1 = False
    cdef int op = spec.scalar_op
    cdef Flags fl
    cdef OpNode node
    cdef TensorBase result
    cdef object e0, e1
    if isinstance(a0, TensorBase):
        _sync_view(<TensorBase>a0)
    if isinstance(a1, TensorBase):
        _sync_view(<TensorBase>a1)
    if n == 1:
        if not _scalar_operand(a0, &x, &t0, &g0):
            return None
        if op == SC_SOFTPLUS:
            if len(params) != 2 or type(params[0]) is not float or type(params[1]) is not float:
                return None
            beta = PyFloat_AS_DOUBLE(params[0])
            thr = PyFloat_AS_DOUBLE(params[1])
        elif len(params) != 0:
            return None
    elif n == 2:
        if len(params) != 0:
            return None
        if not _scalar_operand(a0, &x, &t0, &g0) or not _scalar_operand(a1, &y, &t1, &g1):
            return None
    else:
        return None
    if not (t0 or t1):
        return None
    fl = _flags()
    if fl.anomaly:
        return None
    if op == SC_ADD:
        out = x + y
    elif op == SC_SUB:
        out = x - y
    elif op == SC_MUL:
        out = x * y
    elif op == SC_DIV:
        out = x / y
    elif op == SC_NEG:
        out = -x
    elif op == SC_SIN:
        out = sin(x)
    elif op == SC_COS:
        out = cos(x)
    elif op == SC_EXP:
        out = exp(x)
    elif op == SC_LOG:
        out = log(x)
    elif op == SC_TANH:
        out = tanh(x)
    elif op == SC_SIGMOID:
        # exp of a non-positive number only: no overflow for large |x|
        z = exp(-fabs(x))
        out = 1.0 / (1.0 + z) if x >= 0 else z / (1.0 + z)
    elif op == SC_SQRT:
        out = sqrt(x)
    elif op == SC_SOFTPLUS:
        z = x * beta
        out = x if z > thr else ((z if z > 0.0 else 0.0) + log1p(exp(-fabs(z)))) / beta
    else:
        return None
    result = new_tensor(_f64_new(out))
    if not ((g0 or g1) and fl.grad_enabled):
        return result
    node = <OpNode>_new_instance(spec.node_cls)
    node.spec = spec
    node.params = _untracked(params)
    node.num_outputs = 1
    node.scalar_op = op
    node.sv.f[0] = x
    node.sv.f[1] = beta if op == SC_SOFTPLUS else y
    node.sv.f[2] = out
    node.s_above = op == SC_SOFTPLUS and z > thr
    node.s_mask = (1 if t0 else 0) | (2 if t1 else 0)
    if n == 1:
        _set_edge1(node, _edge_node(spec, a0, 0, False), (<TensorBase>a0)._output_nr)
        if len(spec.needed_by[0]):
            node.s_in0 = a0
            _save_version(node, 0, a0)
    else:
        e0 = _edge_node(spec, a0, 0, False)
        e1 = _edge_node(spec, a1, 1, False)
        _set_edge2(node, e0, (<TensorBase>a0)._output_nr if e0 is not None else 0,
                   e1, (<TensorBase>a1)._output_nr if e1 is not None else 0)
        if len(spec.needed_by[0]) or len(spec.needed_by[1]):
            node.s_in0 = a0
            node.s_in1 = a1
            if t0:
                _save_version(node, 0, a0)
            if t1:
                _save_version(node, 1, a1)
    node.s_saves = node.s_in0 is not None or spec.save_out
    if spec.save_out:
        node.s_outvc = _t_vc(result)
    result._grad_fn = node
    result._requires_grad = True
    if (_edges_tracked(<PyObject*>node._e0, <PyObject*>node._e1)
            or (t0 and _is_tracked(a0)) or (t1 and _is_tracked(a1))):
        _track_node(node)
        _track_tensor(result)
    return result


cpdef object dispatch(OpSpec spec, tuple inputs, tuple params):
    """Run an op: unwrap inputs, call the forward, record a node, push tangents."""
    if spec.scalar_op != 0:
        fast = _scalar_dispatch(spec, inputs, params)
        if fast is not None:
            return fast
    return _dispatch_generic(spec, inputs, params)


def dispatch_unary(OpSpec spec, object x, tuple params):
    """``dispatch(spec, (x,), params)`` for the public one-input functions: the scalar
    fast path takes ``x`` without a tuple."""
    if spec.scalar_op != 0 and spec.scalar_op < SC_STACK:
        fast = _scalar_op(spec, 1, x, None, params)
        if fast is not None:
            return fast
        return _dispatch_generic(spec, (x,), params)
    return dispatch(spec, (x,), params)


cdef object _binary(OpSpec spec, object a, object b):
    """``dispatch(spec, (a, b), ())`` for the operators' slots: the scalar fast path
    takes the two operands without a tuple."""
    if spec.scalar_op != 0:
        fast = _scalar_op(spec, 2, a, b, _empty_tuple)
        if fast is not None:
            return fast
    return _dispatch_generic(spec, (a, b), _empty_tuple)


cdef object _dispatch_generic(OpSpec spec, tuple inputs, tuple params):
    """``dispatch`` once the fast paths have declined."""
    cdef Py_ssize_t i, n = len(inputs)
    cdef list raw = [None] * n
    cdef bint any_grad = False, any_tangent = False
    cdef TensorBase t
    cdef object a, d
    cdef bint is_view = spec.view_of >= 0
    for i in range(n):
        a = inputs[i]
        if isinstance(a, TensorBase):
            t = <TensorBase>a
            _sync_view(t)
            d = t._data
            if is_view:
                if i == spec.view_of and type(d) is not ndarray:
                    # a 0-d result kept as a NumPy scalar: the view must share memory
                    # with the tensor, so the tensor gets (and keeps) an array first
                    d = _t_array(t)
            elif type(d) is ndarray and cnp.PyArray_NDIM(<cnp.ndarray>d) == 0:
                # a 0-d array enters as a NumPy scalar (an immutable snapshot): scalar
                # arithmetic is ~10x cheaper; view ops keep the array to share memory
                d = d[()]
            raw[i] = d
            if t._requires_grad:
                any_grad = True
            if _has_tangent(t):
                any_tangent = True
        else:
            raw[i] = a
    try:
        if spec.n_inputs < 0:
            out = spec.forward(raw, *params)
        elif spec.forward_direct is not None and len(params) == 0:
            if n == 2:
                out = spec.forward_direct(raw[0], raw[1])
            elif n == 1:
                out = spec.forward_direct(raw[0])
            else:
                out = spec.forward_direct(*raw)
        else:
            out = spec.forward(*raw, *params)
    except (ValueError, TypeError, IndexError, np.linalg.LinAlgError) as exc:
        raise type(exc)("%s: %s" % (spec.name, exc)) from None
    cdef Flags fl = _flags()      # this thread's flags (the cache may have moved on)
    cdef bint record = any_grad and spec.differentiable and fl.grad_enabled
    if any_tangent and (fl.fw_level == 0 or fl.fw_suspended):
        any_tangent = False
    if spec.n_outputs == 0:
        return _finish_single(spec, inputs, raw, params, out, record, any_tangent)
    return _finish_multi(spec, inputs, raw, params, out, record, any_tangent)


cdef inline object _as_data(object out):
    # 0-d results stay NumPy scalars (np.float64 ...): arithmetic on them is ~10x
    # faster than on 0-d arrays. Tensor materialises an array when one is needed.
    if type(out) is ndarray or isinstance(out, _np_generic):
        return out
    return _asarray(out)


cdef object _finish_single(OpSpec spec, tuple inputs, list raw, tuple params, object out,
                           bint record, bint any_tangent):
    out = _as_data(out)
    cdef TensorBase result = new_tensor(out)
    cdef bint is_float = _is_float(out)
    cdef _OpState st
    cdef long v
    if (record or any_tangent) and is_float and _is_complex(out):
        _refuse_complex(spec, out)
    if spec.view_of >= 0:
        a = inputs[spec.view_of]
        if isinstance(a, TensorBase):
            result._vc = _t_vc(<TensorBase>a)
            result._base = a if (<TensorBase>a)._base is None else (<TensorBase>a)._base
            result._view_src = _untracked((a, spec, params, result._vc.grad_writes))
            if _is_tracked(result._base):
                _track_tensor(result)
    if record and is_float:
        node = _make_node(spec, inputs, raw, params, out)
        result._grad_fn = node
        result._requires_grad = True
        if _is_tracked(node):
            _track_tensor(result)
        if spec.save_out:
            # a saved output changed in place must not give a silently wrong gradient
            st = node._state()
            st.saved_out_vcs = (_t_vc(result),)
            v = result._vc.value        # 0 but for a view's shared counter
            st.saved_out_versions = _INDEX_0 if v == 0 else (v,)
    if any_tangent and is_float:
        tangent = compute_jvp(spec, inputs, raw, params, out)
        if tangent is not None:
            _set_tangent(result, tangent)
            if record:
                (<OpNode>result._grad_fn)._state().saved_out_tangent = tangent
    return result


cdef object _finish_multi(OpSpec spec, tuple inputs, list raw, tuple params, object out,
                          bint record, bint any_tangent):
    cdef list results = []
    cdef TensorBase r
    cdef Py_ssize_t k
    cdef bint diff
    cdef OpNode node = None
    cdef _OpState st
    outs = tuple([_as_data(o) for o in out])
    if record or any_tangent:
        for k in range(len(outs)):
            if spec.diff_outputs[k] and _is_complex(outs[k]):
                _refuse_complex(spec, outs[k])
    if record:
        node = _make_node(spec, inputs, raw, params, outs)
    for k in range(len(outs)):
        r = new_tensor(outs[k])
        diff = spec.diff_outputs[k] and _is_float(outs[k])
        if node is not None and diff:
            r._grad_fn = node
            r._output_nr = k
            r._requires_grad = True
            if _is_tracked(node):
                _track_tensor(r)
        if spec.view_of >= 0 and isinstance(inputs[spec.view_of], TensorBase):
            r._vc = _t_vc(<TensorBase>inputs[spec.view_of])
        results.append(r)
    if node is not None and spec.save_out:
        st = node._state()
        st.saved_out_vcs = tuple([_t_vc(<TensorBase>r) for r in results])
        st.saved_out_versions = tuple([(<VersionCounter>v).value for v in st.saved_out_vcs])
    if any_tangent:
        tangents = compute_jvp(spec, inputs, raw, params, outs)
        if tangents is not None:
            for k in range(len(outs)):
                if tangents[k] is not None and spec.diff_outputs[k]:
                    _set_tangent(<TensorBase>results[k], tangents[k])
    return tuple(results)


cdef inline object _edge_node(OpSpec spec, object a, Py_ssize_t i, bint variadic):
    """The node gradient flows to through input ``a`` (None: no gradient needed)."""
    cdef TensorBase t
    if isinstance(a, TensorBase):
        t = <TensorBase>a
        if t._requires_grad and spec.vjp_rules[0 if variadic else i] is not None:
            if t._grad_fn is not None:
                return t._grad_fn
            return get_accumulator(t)
    return None


cdef inline object _shape_of(object a, object r):
    if isinstance(a, TensorBase):
        return r.shape
    if type(r) is float or type(r) is int:
        return ()
    return np.shape(r)


cdef inline object _dtype_of(object a, object r):
    if isinstance(a, TensorBase):
        if type(r) is ndarray:
            return (<cnp.ndarray>r).descr        # r.dtype without the getattr
        return r.dtype
    return None


cdef object _MISSING = object()     # a dict lookup's "no entry" (None is a value)


cdef object _variant_class(OpSpec spec, list raw, tuple params):
    """The node class named by the op's node_variant (None: its default class).

    PyTorch names some nodes by how the op was called (SumBackward1 for a sum over dims).
    An op whose names depend only on its inputs' ndims (matmul: MmBackward0, MvBackward0
    ...) has the class cached per ndims, skipping the Python call for ndarray inputs.
    """
    cdef Py_ssize_t i, key = 0
    cdef bint cacheable = spec.variant_by_ndim and len(raw) <= 4
    if cacheable:
        for i in range(len(raw)):
            if type(raw[i]) is not ndarray:
                cacheable = False
                break
            key = key * 64 + cnp.PyArray_NDIM(<cnp.ndarray>raw[i])
        if cacheable:
            key = -1 - key          # negative: apart from the classes' names
            cls = spec.node_classes.get(key, _MISSING)
            if cls is not _MISSING:
                return cls
    cls = _named_variant_class(spec, raw, params)
    if cacheable:
        spec.node_classes[key] = cls
    return cls


cdef object _named_variant_class(OpSpec spec, list raw, tuple params):
    name = spec.node_variant(raw, params)
    if name is None:
        return None
    cls = spec.node_classes.get(name)
    if cls is None:
        cls = make_node_class(name, OpNode)
        spec.node_classes[name] = cls
    return cls


cdef OpNode _make_node(OpSpec spec, tuple inputs, list raw, tuple params, object out):
    cdef Py_ssize_t i, j, n = len(inputs)
    cdef object cls = spec.node_cls
    if spec.node_variant is not None:
        cls = _variant_class(spec, raw, params) or cls
    cdef OpNode node = <OpNode>_new_instance(cls)
    cdef _OpState st = node._state()
    cdef list nodes
    cdef tuple sdata = None, stens = None, svers = None
    cdef bint variadic = spec.n_inputs < 0
    cdef bint save, any_var_grad = False
    cdef object a0, a1, n0, n1
    # Edges, input shapes and dtypes; the common one- and two-input cases build
    # their tuples directly (this runs once per recorded op).
    if n == 1:
        a0 = inputs[0]
        n0 = _edge_node(spec, a0, 0, variadic)
        nodes = [n0]
        _set_edge1(node, n0, (<TensorBase>a0)._output_nr if n0 is not None else 0)
        st.in_shapes = (_shape_of(a0, raw[0]),)
        st.in_dtypes = (_dtype_of(a0, raw[0]),)
    elif n == 2:
        a0 = inputs[0]
        a1 = inputs[1]
        n0 = _edge_node(spec, a0, 0, variadic)
        n1 = _edge_node(spec, a1, 1, variadic)
        nodes = [n0, n1]
        _set_edge2(node, n0, (<TensorBase>a0)._output_nr if n0 is not None else 0,
                   n1, (<TensorBase>a1)._output_nr if n1 is not None else 0)
        st.in_shapes = (_shape_of(a0, raw[0]), _shape_of(a1, raw[1]))
        st.in_dtypes = (_dtype_of(a0, raw[0]), _dtype_of(a1, raw[1]))
    else:
        nodes = [_edge_node(spec, inputs[i], i, variadic) for i in range(n)]
        _set_edges(node, tuple(nodes),
                   tuple([(<TensorBase>inputs[i])._output_nr if nodes[i] is not None
                          else 0 for i in range(n)]))
        st.in_shapes = tuple([_shape_of(inputs[i], raw[i]) for i in range(n)])
        st.in_dtypes = tuple([_dtype_of(inputs[i], raw[i]) for i in range(n)])
    if variadic:
        for i in range(n):
            if nodes[i] is not None:
                any_var_grad = True
                break
    # Save an input only if a rule that will run reads it: what is not needed
    # is not kept alive (memory), and not version-checked (in-place ops).
    # The three tuples are filled in place (they are new and not shared yet).
    for i in range(n):
        if variadic:
            save = any_var_grad and len(spec.needed_by[0]) > 0
        else:
            save = False
            for j in spec.needed_by[i]:
                if nodes[j] is not None:
                    save = True
                    break
        if save:
            if sdata is None:
                sdata = _filled_tuple(n, None)
                stens = _filled_tuple(n, None)
                svers = _filled_tuple(n, 0)
            _tuple_set(sdata, i, raw[i])
            a = inputs[i]
            if isinstance(a, TensorBase):
                _tuple_set(stens, i, a)
                _tuple_set(svers, i, _t_vc(<TensorBase>a).value)
    node.num_outputs = spec.n_outputs if spec.n_outputs > 0 else 1
    node.spec = spec
    node.params = params
    if sdata is not None:
        st.sdata = sdata
        st.stens = stens
        st.svers = svers
    if spec.save_out:
        st.sout = out
    if _flags().anomaly and _anomaly_capture is not None:
        st.anomaly_trace = _anomaly_capture()
    if _points_to_tracked(node) or (stens is not None and _any_tracked(stens)):
        _track_node(node)
    return node


cdef bint _any_tracked(tuple tensors):
    for a in tensors:
        if _tracked_tensor(a):
            return True
    return False


cdef inline tuple _filled_tuple(Py_ssize_t n, object value):
    """A new tuple of n ``value``s, for _tuple_set to fill before it is shared."""
    cdef tuple t = PyTuple_New(n)
    cdef Py_ssize_t i
    for i in range(n):
        Py_INCREF(value)
        PyTuple_SET_ITEM(t, i, value)
    return t


# n -> (0,) * n for n <= 64, untracked: the usual edge indices of a stack of scalars
cdef list _ZERO_INDICES = [_untracked(_filled_tuple(n, 0)) for n in range(65)]


cdef inline tuple _zero_indices(Py_ssize_t n):
    """(0,) * n, shared for small n (read-only: copy it to change an index)."""
    if n <= 64:
        return <tuple>_ZERO_INDICES[n]
    return _untracked(_filled_tuple(n, 0))


cdef inline void _tuple_set(tuple t, Py_ssize_t i, object value):
    """Replace item i of a tuple made by _filled_tuple (not yet seen by other code)."""
    Py_INCREF(value)
    Py_DECREF(<object>PyTuple_GET_ITEM(t, i))
    PyTuple_SET_ITEM(t, i, value)


# ---------------------------------------------------------------------------
# Forward mode: tangents pushed by JVP rules
# ---------------------------------------------------------------------------

cdef object _wrap_for_rule(object x, bint use_tensors):
    if use_tensors:
        return x
    if isinstance(x, TensorBase):
        return (<TensorBase>x)._data
    return x


cdef object compute_jvp(OpSpec spec, tuple inputs, list raw, tuple params, object out):
    """Tangent of the output (or tuple of tangents) from the inputs' tangents."""
    cdef Py_ssize_t i, n = len(inputs)
    cdef list tangents = [None] * n
    cdef bint use_tensors = False
    cdef TensorBase t
    cdef Flags fl = _flags()
    cdef int kind = spec.jvp_kind
    for i in range(n):
        a = inputs[i]
        if isinstance(a, TensorBase):
            t = <TensorBase>a
            tt = _live_tangent(t)
            if tt is not None:
                tangents[i] = tt
                if t._requires_grad or (isinstance(tt, TensorBase) and (<TensorBase>tt)._requires_grad):
                    use_tensors = True
    if kind == JVP_NONE:
        return None
    if kind == JVP_MISSING:
        _raise_no_jvp(spec, tangents)
        return None
    use_tensors = use_tensors and fl.grad_enabled
    fl.fw_suspended = True
    try:
        if fl.fw_batch:
            return _jvp_batched(spec, inputs, raw, params, out, tangents, use_tensors)
        result = _jvp_terms(spec, inputs, raw, params, out, tangents, use_tensors)
    finally:
        fl.fw_suspended = False
    if result is None:
        return None
    if spec.n_outputs == 0:
        return _fit_tangent(result, out, use_tensors, -1)
    return tuple([None if r is None else _fit_tangent(r, o, use_tensors, -1)
                  for r, o in zip(result, out)])


cdef _raise_no_jvp(OpSpec spec, list tangents):
    cdef Py_ssize_t i
    for i in range(len(tangents)):
        if tangents[i] is not None and spec.vjp_rules[0 if spec.n_inputs < 0 else i] is not None:
            raise NotImplementedError(
                "Trying to use forward AD with %s, which has no forward-mode (JVP) rule: "
                "declare one with defop(jvp=...), or compute this derivative in reverse "
                "mode (autograd.grad, jacrev)" % spec.name)


cdef object _fit_tangent(object r, object out, bint use_tensors, Py_ssize_t nb):
    """Bring a JVP result to the output's shape (with ``nb`` leading batch rows) and dtype."""
    if isinstance(r, TensorBase):
        # a tangent that records nothing is kept as a raw array (cheaper to push on)
        if not use_tensors or not (<TensorBase>r)._requires_grad:
            r = (<TensorBase>r)._data
    else:
        r = _asarray(r)
    shape = out.shape if nb < 0 else (nb,) + out.shape
    if r.shape != shape:
        if isinstance(r, TensorBase):
            r = r.expand(shape)
        else:
            r = np.array(np.broadcast_to(r, shape))
    if r.dtype != out.dtype:
        r = r.astype(out.dtype)
    return r


# Forward-mode batch rules: op name -> fn(tans, vals, params, out) giving the
# output tangent when every tangent carries one leading batch axis. Ops without
# one (and not elementwise) are looped over the batch, which is always correct.
cdef dict _fw_batch_rules = {}


def set_jvp_batch_rules(dict rules):
    """Register the forward-mode batch rules (``autodiff.func._batch_rules``)."""
    _fw_batch_rules.update(rules)


cdef object _align_tangent(object tan, object x, Py_ssize_t out_nd, Py_ssize_t nb):
    """Insert singleton axes after the batch axis so that ``tan`` broadcasts like ``x``."""
    cdef tuple xs = np.shape(x)
    cdef Py_ssize_t nd = len(xs)
    if tan is None or nd >= out_nd:
        return tan
    return np.reshape(tan, (nb,) + (1,) * (out_nd - nd) + xs)


cdef object _jvp_batched(OpSpec spec, tuple inputs, list raw, tuple params, object out,
                         list tangents, bint use_tensors):
    """The output tangent(s) when every tangent has one leading batch axis."""
    cdef Py_ssize_t i, n = len(inputs), nb = -1
    cdef int kind = spec.jvp_kind
    for x in tangents:
        if x is not None:
            nb = x.shape[0]
            break
    if nb < 0:
        return None
    result = None
    done = False
    if spec.n_outputs == 0 and spec.n_inputs >= 0:
        if kind == JVP_ELEMENTWISE and spec.batch_ok:
            out_nd = np.ndim(out)
            aligned = [_align_tangent(tangents[i], raw[i], out_nd, nb) for i in range(n)]
            result = _jvp_terms(spec, inputs, raw, params, out, aligned, use_tensors)
            done = True
        elif kind == JVP_CUSTOM and spec.batch_ok and n == 1 and spec.name not in _fw_batch_rules:
            result = _jvp_terms(spec, inputs, raw, params, out, tangents, use_tensors)
            done = result is None or tuple(np.shape(result)) == (nb,) + out.shape
    if not done and spec.name in _fw_batch_rules:
        # a rule returns NotImplemented for cases it does not cover (then: the loop)
        vals = [_wrap_for_rule(inputs[i], use_tensors) for i in range(n)]
        tans = [_wrap_for_rule(x, use_tensors) for x in tangents]
        result = _fw_batch_rules[spec.name](tans, vals, params, out)
        done = result is not NotImplemented
    if not done:
        result = _jvp_batch_loop(spec, inputs, raw, params, out, tangents, use_tensors, nb)
    if result is None:
        return None
    if spec.n_outputs == 0:
        return _fit_tangent(result, out, use_tensors, nb)
    return tuple([None if r is None else _fit_tangent(r, o, use_tensors, nb)
                  for r, o in zip(result, out)])


cdef object _jvp_batch_loop(OpSpec spec, tuple inputs, list raw, tuple params, object out,
                            list tangents, bint use_tensors, Py_ssize_t nb):
    """Batched tangents, one batch element at a time (for ops without a batch rule)."""
    cdef Py_ssize_t b
    cdef list parts = []
    multi = spec.n_outputs > 0
    for b in range(nb):
        tb = [None if x is None else x[b] for x in tangents]
        r = _jvp_terms(spec, inputs, raw, params, out, tb, use_tensors)
        if r is None:
            return None
        if multi:
            r = tuple([None if ri is None else _fit_tangent(ri, o, use_tensors, -1)
                       for ri, o in zip(r, out)])
        else:
            r = _fit_tangent(r, out, use_tensors, -1)
        parts.append(r)
    if not multi:
        return _stack(parts)
    cols = []
    for k in range(len(out)):
        col = [p[k] for p in parts]
        cols.append(None if col[0] is None else _stack(col))
    return tuple(cols)


cdef object _jvp_terms(OpSpec spec, tuple inputs, list raw, tuple params, object out,
                       list tangents, bint use_tensors):
    cdef Py_ssize_t i, n = len(inputs)
    cdef list vals = [_wrap_for_rule(inputs[i], use_tensors) for i in range(n)]
    cdef list tans = [_wrap_for_rule(x, use_tensors) for x in tangents]
    total = None
    if spec.jvp_kind == JVP_ELEMENTWISE:
        for i in range(n):
            if tans[i] is None or spec.vjp_rules[i] is None:
                continue
            term = spec.vjp_rules[i](*_jvp_args(spec, spec.vjp_plans[i], tans[i], vals,
                                                 params, out, tans, i, raw))
            total = term if total is None else total + term
        return total
    if spec.jvp_kind == JVP_LINEAR:
        if n == 1 or spec.n_inputs < 0:
            filled = [(np.zeros_like(raw[i]) if tans[i] is None else tans[i])
                      for i in range(n)]
        else:
            filled = [(np.zeros_like(raw[i]) if tans[i] is None else tans[i])
                      for i in range(n)]
        if spec.n_inputs < 0:
            return spec.forward(filled, *params) if not use_tensors else spec.module_func(filled, *params)
        if use_tensors:
            return spec.module_func(*filled, *params)
        return spec.forward(*filled, *params)
    if spec.jvp_kind == JVP_MULTILINEAR:
        for i in range(n):
            if tans[i] is None:
                continue
            args = list(vals)
            args[i] = tans[i]
            if not use_tensors:
                args = [a._data if isinstance(a, TensorBase) else a for a in args]
            fn = spec.module_func if use_tensors else spec.forward
            # a variadic op takes its operands as one sequence
            term = fn(args, *params) if spec.n_inputs < 0 else fn(*args, *params)
            total = term if total is None else total + term
        return total
    # JVP_CUSTOM
    return spec.jvp_rule(*_jvp_args(spec, spec.jvp_plan, None, vals, params, out, tans, -1, raw))


cdef list _jvp_args(OpSpec spec, tuple plan, object g, list vals, tuple params, object out,
                    list tans, int index, list raw):
    cdef list args = []
    cdef int kind, k
    for src in plan:
        kind = src[0]
        k = src[1]
        if kind == SRC_G:
            args.append(g)
        elif kind == SRC_INPUT:
            args.append(vals[k])
        elif kind == SRC_OUT:
            args.append(out)
        elif kind == SRC_PARAM:
            args.append(params[k])
        elif kind == SRC_SHAPE:
            args.append(np.shape(raw[k]))
        elif kind == SRC_DTYPE:
            args.append(getattr(raw[k], "dtype", None))
        elif kind == SRC_INDEX:
            args.append(index)
        elif kind == SRC_ALL_INPUTS:
            args.append(tuple(vals))
        elif kind == SRC_ALL_SHAPES:
            args.append(tuple([np.shape(r) for r in raw]))
        elif kind == SRC_TANGENT:
            args.append(tans[k])
    return args


# ---------------------------------------------------------------------------
# Backward
# ---------------------------------------------------------------------------

cdef inline bint _small_f64_vector(cnp.ndarray a):
    """A 1-d C-contiguous, aligned float64 array of at most 64 elements."""
    return (cnp.PyArray_NDIM(a) == 1 and cnp.PyArray_TYPE(a) == cnp.NPY_DOUBLE
            and cnp.PyArray_DIM(a, 0) <= 64
            and cnp.PyArray_ISCARRAY_RO(a))


cdef inline object _sum_into(object cur, bint cur_owned, object g, bint tensor_path):
    """cur + g, in place into ``cur`` when the engine owns it (returns the buffer)."""
    cdef Py_ssize_t i, n
    cdef double* c
    cdef double* d
    if _is_f64(cur) and _is_f64(g):
        return _f64_new(_f64_val(cur) + _f64_val(g))
    if (not tensor_path and cur_owned and type(cur) is ndarray and type(g) is ndarray
            and _small_f64_vector(<cnp.ndarray>cur) and _small_f64_vector(<cnp.ndarray>g)
            and cnp.PyArray_DIM(<cnp.ndarray>cur, 0) == cnp.PyArray_DIM(<cnp.ndarray>g, 0)):
        # short vectors: a C loop instead of a ufunc call (~1 us of overhead)
        n = cnp.PyArray_DIM(<cnp.ndarray>cur, 0)
        c = <double*>cnp.PyArray_DATA(<cnp.ndarray>cur)
        d = <double*>cnp.PyArray_DATA(<cnp.ndarray>g)
        for i in range(n):
            c[i] += d[i]
        return cur
    if (not tensor_path and cur_owned and type(cur) is ndarray and type(g) is ndarray
            and (<cnp.ndarray>cur).ndim > 0 and cur.shape == g.shape and cur.dtype == g.dtype):
        _np_add(cur, g, out=cur)
        return cur
    return cur + g


cdef inline list _more_of(_NodeTask st):
    """The gradient buffers of outputs 1.. (None: none has arrived)."""
    if type(st) is _Task:
        return (<_Task>st).more
    return None if (<Node>st)._x is None else (<Node>st)._x.more


cdef inline void _set_more(_NodeTask st, list more):
    if type(st) is _Task:
        (<_Task>st).more = more
    elif more is not None or (<Node>st)._x is not None:
        (<Node>st)._extra().more = more


cdef inline void _add_grad(_NodeTask st, Py_ssize_t k, object g, bint owned, bint tensor_path):
    cdef list slot, more
    cdef Node owner
    if k == 0:
        if st.g0 is None:
            st.g0 = g
            st.owned0 = owned
        else:
            st.g0 = _sum_into(st.g0, st.owned0, g, tensor_path)
            st.owned0 = not tensor_path
        return
    more = _more_of(st)
    if more is None:
        owner = (<_Task>st).node if type(st) is _Task else <Node>st
        more = [[None, False] for _ in range(owner.num_outputs - 1)]
        _set_more(st, more)
    slot = more[k - 1]
    if slot[0] is None:
        slot[0] = g
        slot[1] = owned
    else:
        slot[0] = _sum_into(slot[0], slot[1], g, tensor_path)
        slot[1] = not tensor_path


cdef inline int _add_f64(_NodeTask q, int k, double d) except -1:
    """``_add_grad`` of the float64 gradient ``d`` (a first-order backward). A float64
    scalar that only the buffer holds is updated in place: cur + d, no new object."""
    cdef PyObject* cur
    if k == 0:
        cur = <PyObject*>q.g0
        if cur == <PyObject*>None:
            q.g0 = _f64_new(d)
            q.owned0 = False
            return 0
        if _f64_sole(cur):
            _f64_iadd(cur, d)
            return 0
    _add_grad(q, k, _f64_new(d), False, False)
    return 0


cdef int _add_one_hot(_NodeTask q, int k, Py_ssize_t n, Py_ssize_t pos, double d) except -1:
    """``_add_grad`` of a select's gradient, the length-``n`` vector that is ``d`` at
    ``pos`` and 0 elsewhere (a first-order backward). Added in place into a short
    vector this backward owns, without making the vector."""
    cdef cnp.ndarray cur
    cdef double* c
    cdef Py_ssize_t j
    if k == 0 and q.owned0 and type(q.g0) is ndarray:
        cur = <cnp.ndarray>q.g0
        if _small_f64_vector(cur) and cnp.PyArray_DIM(cur, 0) == n:
            c = <double*>cnp.PyArray_DATA(cur)
            for j in range(n):
                c[j] += d if j == pos else 0.0     # (as the vector's sum: -0.0 + 0.0 is 0.0)
            return 0
    _add_grad(q, k, _one_hot(n, pos, d), True, False)
    return 0


cdef cnp.ndarray _one_hot(Py_ssize_t n, Py_ssize_t pos, double d):
    """A select's gradient: a new length-``n`` float64 vector, ``d`` at ``pos``, else 0."""
    cdef cnp.npy_intp dim = n
    cdef cnp.ndarray v = cnp.PyArray_ZEROS(1, &dim, cnp.NPY_DOUBLE, 0)
    (<double*>cnp.PyArray_DATA(v))[pos] = d
    return v


cdef inline _NodeTask _reach(_Heap* heap, bint counted, dict tasks, Node node, PyObject* p):
    """The backward state of ``p``, a next node of ``node`` that a gradient is about to
    flow into. Without ``counted``, ``p`` joins the heap when it is first reached."""
    if not counted:
        if not (<Node>p).active:
            if (<Node>p).seq >= node.seq:
                _order_broken(node, <Node>p)
            _new_task(<Node>p, None)
            _heap_push(heap, <Node>p)
        return <_NodeTask>p
    return <_NodeTask>_find_task_ptr(p, tasks)


cdef inline int _reached(_Heap* heap, bint counted, _NodeTask q, PyObject* p) except -1:
    """An edge into ``p`` (state ``q``) is done. With ``counted``, ``p`` joins the heap
    when that was the last of its pending edges."""
    if counted:
        q.deps = q.deps - 1
        if q.deps == 0:
            _heap_push(heap, <Node>p)
    return 0


cdef inline bint _is_owned(object g, list grads, bint tensor_path):
    """A fresh array no one else holds: later gradients may be added into it in place."""
    return (not tensor_path and type(g) is ndarray
            and cnp.PyArray_BASE(<cnp.ndarray>g) == NULL and not _is_alias(g, grads))


cdef object _run_tensor_pre_hooks(Node node, int k, object g, bint tensor_path):
    """Hooks registered on the tensor that is output ``k`` of ``node``."""
    cdef list hooks
    if node._x is not None and node._x.pre_hooks is not None:
        hooks = node._x.pre_hooks.get(k)
        if hooks:
            g = _call_hooks(hooks, g, tensor_path)
    return g


cdef object _call_hooks(list hooks, object g, bint tensor_path):
    for entry in list(hooks):
        gt = _as_grad_tensor(g)
        res = entry[1](gt)
        g = gt if res is None else _hook_result(entry[1], res, <TensorBase>gt, tensor_path)
    if not tensor_path and isinstance(g, TensorBase):
        g = (<TensorBase>g)._data
    return g


cdef str _hook_name(object hook):
    name = getattr(hook, "__name__", None)
    return name if isinstance(name, str) else repr(hook)


cdef object _user_data(object value):
    """The array in what user code returned as a gradient (a Tensor, an ndarray or a
    NumPy scalar), or None for anything else."""
    if isinstance(value, TensorBase):
        return (<TensorBase>value)._data
    if isinstance(value, ndarray) or isinstance(value, _np_generic):
        return value
    return None


cdef object _hook_result(object hook, object res, TensorBase g, bint tensor_path):
    """What a hook returned to replace the gradient ``g``, checked as PyTorch does (a
    Tensor of g's shape and dtype; here an ndarray is taken too), as a Tensor whose
    data the compiled loops can read."""
    gd = g._data
    data = _user_data(res)
    if data is None:
        raise TypeError("hook '%s' returned a %s: a hook returns a Tensor (or an ndarray) "
                        "to replace the gradient, or None to keep it"
                        % (_hook_name(hook), type(res).__name__))
    if not same_dtype(data.dtype, gd.dtype):
        raise RuntimeError("hook '%s' has changed the type of value (was %s got %s)"
                           % (_hook_name(hook), gd.dtype, data.dtype))
    if data.shape != gd.shape:
        raise RuntimeError("hook '%s' has changed the size of value (was %s got %s)"
                           % (_hook_name(hook), tuple(gd.shape), tuple(data.shape)))
    if tensor_path and isinstance(res, TensorBase) and (<TensorBase>res)._requires_grad:
        return res
    arr = native_array(data, gd.dtype)
    if arr is data and isinstance(res, TensorBase):
        return res
    return new_tensor(arr)


cdef object _grad_tensor_for_store(object g, bint owned, bint tensor_path):
    """A Tensor for ``.grad`` that never aliases memory the engine does not own."""
    if isinstance(g, TensorBase):
        if tensor_path:
            return g
        g = (<TensorBase>g)._data
        owned = False
    if not owned:
        g = np.array(g, copy=True)
    elif type(g) is not ndarray:
        g = _asarray(g)
    return new_tensor(g)


cdef _TensorExtra _lock_grad(TensorBase t):
    """Take ``t``'s accumulation lock (see _TensorExtra.grad_lock); give the result to
    _unlock_grad. Waiting for it releases the GIL: its holder may need the GIL to finish."""
    cdef _TensorExtra x = _t_extra(t)
    cdef long me = PyThread_get_thread_ident()
    cdef PyThread_type_lock lock
    if x.grad_lock == NULL:
        x.grad_lock = PyThread_allocate_lock()
        if x.grad_lock == NULL:
            raise MemoryError("could not allocate a lock")
    if x.lock_depth > 0 and x.lock_owner == me:
        x.lock_depth += 1
        return x
    lock = x.grad_lock
    if not PyThread_acquire_lock(lock, NOWAIT_LOCK):
        with nogil:
            PyThread_acquire_lock(lock, WAIT_LOCK)
    x.lock_owner = me
    x.lock_depth = 1
    return x


cdef inline void _unlock_grad(_TensorExtra x):
    x.lock_depth -= 1
    if x.lock_depth == 0:
        PyThread_release_lock(x.grad_lock)


cdef object _store_grad(TensorBase t, object g, bint owned, bint tensor_path):
    """Accumulate ``g`` into ``t.grad`` (PyTorch's AccumulateGrad semantics), under
    ``t``'s lock: threads that backward into one tensor lose no update."""
    cdef _TensorExtra x = _lock_grad(t)
    try:
        _store_grad_locked(t, g, owned, tensor_path)
    finally:
        _unlock_grad(x)


cdef object _store_grad_locked(TensorBase t, object g, bint owned, bint tensor_path):
    cdef TensorBase cur = _grad_of(t)
    if cur is None:
        _set_grad(t, _grad_tensor_for_store(g, owned, tensor_path))
        return
    if tensor_path or cur._requires_grad or isinstance(g, TensorBase) and (<TensorBase>g)._requires_grad:
        _set_grad(t, cur + g)
        return
    if isinstance(g, TensorBase):
        g = (<TensorBase>g)._data
    cdata = cur._data
    if type(cdata) is ndarray and cdata.shape == np.shape(g) and cdata.flags.writeable:
        _np_add(cdata, g, out=cdata, casting="unsafe")
    else:
        cur._data = cdata + g


cdef object _check_anomaly(Node node, list grads):
    for g in grads:
        if g is None:
            continue
        arr = (<TensorBase>g)._data if isinstance(g, TensorBase) else g
        if not np.all(np.isfinite(arr)):
            trace = None if node._x is None else node._x.anomaly_trace
            msg = "Function '%s' returned nan or inf values in its output." % type(node).__name__
            if trace:
                msg += "\nThe forward call that created it:\n" + trace
            raise RuntimeError(msg)


cdef bint _tasks_on_nodes_busy = False


cdef inline _NodeTask _find_task(Node node, dict tasks):
    if tasks is None:
        return node if node.active else None
    return <_NodeTask>tasks.get(node)


cdef inline PyObject* _find_task_ptr(PyObject* node, dict tasks):
    """``_find_task``, borrowed (NULL: none)."""
    if tasks is None:
        return node if (<Node>node).active else NULL
    return PyDict_GetItem(tasks, <object>node)


cdef inline _NodeTask _new_task(Node node, dict tasks):
    cdef _Task st
    if tasks is None:
        node.active = True
        node.deps = 0
        return node
    st = _Task.__new__(_Task)
    st.node = node
    tasks[node] = st
    return st


# (_Heap, the queue of nodes to run, is declared with the nodes.)


cdef int _heap_push(_Heap* h, Node node) except -1:
    cdef Py_ssize_t i = h.n, parent
    cdef _HeapItem* grown
    cdef unsigned int seq = node.seq
    if h.n == h.cap:
        grown = <_HeapItem*>realloc(h.items, (2 * h.cap + 16) * sizeof(_HeapItem))
        if grown == NULL:
            raise MemoryError()
        h.items = grown
        h.cap = 2 * h.cap + 16
    while i > 0:
        parent = (i - 1) >> 1
        if h.items[parent].seq >= seq:
            break
        h.items[i] = h.items[parent]
        i = parent
    Py_INCREF(node)
    h.items[i].seq = seq
    h.items[i].node = <PyObject*>node
    h.n += 1
    return 0


cdef PyObject* _heap_pop(_Heap* h):
    """The newest node (its reference passes to the caller)."""
    cdef PyObject* top = h.items[0].node
    cdef _HeapItem last
    cdef Py_ssize_t i = 0, child
    h.n -= 1
    if h.n > 0:
        last = h.items[h.n]
        while True:
            child = 2 * i + 1
            if child >= h.n:
                break
            if child + 1 < h.n and h.items[child + 1].seq > h.items[child].seq:
                child += 1
            if h.items[child].seq <= last.seq:
                break
            h.items[i] = h.items[child]
            i = child
        h.items[i] = last
    return top


cdef inline void _heap_init(_Heap* h):
    h.items = NULL
    h.n = h.cap = 0


cdef bint _in_heap(_Heap* h, Node node):
    cdef Py_ssize_t i
    for i in range(h.n):
        if h.items[i].node == <PyObject*>node:
            return True
    return False


cdef void _heap_free(_Heap* h):
    """Drop the nodes left (after an error) and the storage."""
    while h.n > 0:
        h.n -= 1
        Py_DECREF(<object>h.items[h.n].node)
    free(h.items)
    h.items = NULL
    h.cap = 0


cdef void _clear_tasks(tuple root_edges):
    """After a failed backward that kept its state on the nodes: drop what is left."""
    cdef list stack = [e[0] for e in root_edges]
    cdef set seen = set()
    cdef Node node
    cdef Py_ssize_t i
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        node.active = False
        node.deps = 0
        node.g0 = None
        _set_more(node, None)
        for i in range(_n_edges(node)):
            stack.append(_edge(node, i))


cpdef object default_seed(object data):
    """The gradient ``backward()`` starts from when none is given: ones of the shape and
    dtype of ``data``, a one-element float or complex array or NumPy scalar (else None).

    >>> import numpy as np
    >>> default_seed(np.float32(2.0)).dtype, default_seed(np.zeros(3)) is None
    (dtype('float32'), True)
    """
    if type(data) is ndarray:
        if cnp.PyArray_SIZE(<cnp.ndarray>data) != 1:
            return None
    elif not isinstance(data, _np_generic):
        return None
    dtype = data.dtype
    if dtype.kind != "f" and dtype.kind != "c":
        return None
    seed = cnp.PyArray_EMPTY(data.ndim, cnp.PyArray_DIMS(<cnp.ndarray>data) if type(data) is ndarray
                             else NULL, dtype.num, 0)
    seed.fill(1)
    return seed


def backward_default(TensorBase t):
    """``t.backward()`` without arguments, for a real one-element ``t``: seeds ones of
    its shape and dtype and runs (True), without the Python argument handling of
    ``autograd.backward``. Returns False, having done nothing, for any other ``t``."""
    seed = default_seed(t._data)
    if seed is None:
        return False
    run_backward((t,), (seed,), False, False)
    return True


def run_backward(tuple roots, tuple root_grads, bint retain_graph, bint create_graph,
                 tuple inputs=None, bint accumulate=True, bint allow_unused=False,
                 int batch_ndim=0):
    """Propagate ``root_grads`` from ``roots`` back through the graph.

    With ``accumulate`` the leaves' ``.grad`` (or only ``inputs``' when given)
    receive the gradients and None is returned. Without it (``autograd.grad``),
    the gradients that reach ``inputs`` are returned in a list and no ``.grad``
    is touched.
    """
    global _tasks_on_nodes_busy
    cdef Flags flags = _flags()
    cdef bint tensor_path = create_graph or flags.fw_level != 0
    # Every node reachable from the roots gets a _NodeTask. The common call (backward
    # without inputs=, no other backward running) keeps it on the node itself; others
    # (autograd.grad, a backward inside a hook, concurrent threads) use a dict.
    cdef bint on_nodes = inputs is None and not _tasks_on_nodes_busy
    cdef dict tasks = None if on_nodes else {}
    cdef Node node
    cdef Py_ssize_t i
    cdef tuple root_edges = tuple([edge_of(r) for r in roots])

    for i in range(len(roots)):
        if root_edges[i][0] is None:
            raise RuntimeError("element %d of tensors does not require grad and does not "
                               "have a grad_fn" % i)
    if on_nodes:
        _tasks_on_nodes_busy = True
    try:
        return _run_backward(roots, root_grads, retain_graph, create_graph, inputs, accumulate,
                             allow_unused, batch_ndim, flags, tensor_path, root_edges, tasks)
    except BaseException:
        # a node that ran is done with its state; the others still hold theirs
        if on_nodes:
            _clear_tasks(root_edges)
        raise
    finally:
        if on_nodes:
            _tasks_on_nodes_busy = False


cdef object _run_backward(tuple roots, tuple root_grads, bint retain_graph, bint create_graph,
                          tuple inputs, bint accumulate, bint allow_unused, int batch_ndim,
                          Flags flags, bint tensor_path, tuple root_edges, dict tasks):
    cdef Py_ssize_t i
    cdef Node node
    cdef _Heap heap
    # The common call (backward without inputs=, state on the nodes) runs nodes by
    # creation number (see _Heap). The others count, for each node, the edges that
    # reach it, and run a node when its count falls to 0.
    if not (tasks is None and inputs is None and _seq_order_ok):
        return _run_counted(roots, root_grads, retain_graph, create_graph, inputs, accumulate,
                            allow_unused, batch_ndim, flags, tensor_path, root_edges, tasks)
    _heap_init(&heap)
    try:
        for e in root_edges:
            node = e[0]
            if not node.active:
                _new_task(node, None)
                _heap_push(&heap, node)
        for i in range(len(roots)):
            _add_grad(<Node>root_edges[i][0], root_edges[i][1], root_grads[i], False,
                      tensor_path)
        _run_nodes(&heap, False, None, retain_graph, create_graph, batch_ndim, flags,
                   tensor_path, None, None, None, None, True)
    finally:
        _heap_free(&heap)
    return None


cdef object _run_counted(tuple roots, tuple root_grads, bint retain_graph, bint create_graph,
                         tuple inputs, bint accumulate, bint allow_unused, int batch_ndim,
                         Flags flags, bint tensor_path, tuple root_edges, dict tasks):
    cdef Py_ssize_t i, k, n_roots = len(roots), sp
    cdef list stack = []
    cdef _Heap heap
    cdef Node node, nxt
    cdef _NodeTask st, nst
    cdef PyObject* p         # borrowed next node
    cdef PyObject* q         # borrowed task of the next node
    cdef set needed = None
    cdef dict capture = None      # node -> list of (output index, position in result)
    cdef list captured = None

    # 1. Discover the graph and count, for each node, the edges that reach it.
    for e in root_edges:
        node = e[0]
        if _find_task(node, tasks) is None:
            _new_task(node, tasks)
            stack.append(node)
    # Stacks are lists used with an explicit top index: popping never shrinks them,
    # so a long chain does not reallocate the list on every push and pop.
    sp = len(stack)
    while sp:
        sp -= 1
        node = stack[sp]
        for i in range(_n_edges(node)):
            p = _edge_ptr(node, i)
            if p == <PyObject*>None:
                continue
            q = _find_task_ptr(p, tasks)
            if q == NULL:
                nxt = <Node>p
                nst = _new_task(nxt, tasks)
                q = <PyObject*>nst
                if sp < len(stack):
                    stack[sp] = nxt
                else:
                    stack.append(nxt)
                sp += 1
            (<_NodeTask>q).deps = (<_NodeTask>q).deps + 1   # (no temporary reference)

    # 2. Which nodes must run when only some inputs are wanted.
    input_edges = None
    if inputs is not None:
        input_edges = [edge_of(x) for x in inputs]
        for k in range(len(input_edges)):
            if input_edges[k][0] is None:
                raise RuntimeError("One of the differentiated Tensors (index %d) does not require "
                                   "grad" % k)
        capture = {}
        for k in range(len(input_edges)):
            capture.setdefault(input_edges[k][0], []).append((input_edges[k][1], k))
        needed = _needed_nodes(root_edges, tasks, set(capture))
        captured = [None] * len(input_edges)

    # 3. Seed the root gradients.
    for i in range(n_roots):
        st = _find_task(root_edges[i][0], tasks)
        _add_grad(st, root_edges[i][1], root_grads[i], False, tensor_path)

    # 4. Run nodes whose every incoming gradient has arrived, the newest first.
    _heap_init(&heap)
    try:
        for e in root_edges:
            node = e[0]
            st = _find_task(node, tasks)
            if st.deps == 0 and not _in_heap(&heap, node):
                _heap_push(&heap, node)
        _run_nodes(&heap, True, tasks, retain_graph, create_graph, batch_ndim, flags,
                   tensor_path, needed, capture, captured, inputs, accumulate)
    finally:
        _heap_free(&heap)

    if accumulate:
        return None
    # 5. Gradients for autograd.grad.
    result = []
    for k in range(len(input_edges)):
        g = captured[k]
        node = input_edges[k][0]
        if g is None and node not in tasks:
            if not allow_unused:
                raise RuntimeError(
                    "The differentiated Tensor at index %d appears to not have been used in "
                    "the graph. Set allow_unused=True if this is the desired behavior." % k)
        elif g is None:
            x = inputs[k]
            shape = (<TensorBase>x)._data.shape
            if batch_ndim:
                shape = tuple(np.shape(root_grads[0])[:batch_ndim]) + shape
            g = np.zeros(shape, dtype=(<TensorBase>x)._data.dtype)
        if g is not None and not isinstance(g, TensorBase):
            g = new_tensor(g if (type(g) is ndarray or isinstance(g, _np_generic)) else _asarray(g))
        result.append(g)
    return result


cdef _order_broken(Node node, Node nxt):
    """A node points to one numbered after it (edges changed by hand on a node that had
    been used): the order backward relies on does not hold. Later backwards count
    dependencies; this one cannot go on without risking a wrong gradient."""
    global _seq_order_ok
    _seq_order_ok = False
    raise RuntimeError(
        "backward: %s points to %s, which was created after it (next_nodes changed on a "
        "node already in use); gradients from this call are incomplete. Backward counts "
        "dependencies from now on: run it again." % (type(node).__name__, type(nxt).__name__))


cdef _run_nodes(_Heap* heap, bint counted, dict tasks, bint retain_graph, bint create_graph,
                int batch_ndim, Flags flags, bint tensor_path, set needed, dict capture,
                list captured, tuple inputs, bint accumulate):
    """Run the nodes in ``heap``, the newest first. Without ``counted`` a node joins the
    heap when it is first reached (state on the nodes; see _Heap); with it, when its
    count of pending edges falls to 0."""
    cdef Py_ssize_t i, k, n_edges
    cdef Node node
    cdef _NodeTask st
    cdef PyObject* p         # borrowed next node
    cdef _NodeTask q         # its backward state
    cdef TensorBase t
    cdef _TensorExtra tx
    cdef list grads, owned, out_grads, more
    # create_graph: the ids walked by _track_stored (one walk per backward)
    cdef set walked = set() if tensor_path and accumulate else None

    prev_grad = flags.grad_enabled
    flags.grad_enabled = create_graph
    try:
        while heap.n:
            p = _heap_pop(heap)
            node = <Node>p
            Py_DECREF(node)       # (the heap's reference; the local one remains)
            if tasks is None:
                st = node
                node.active = False       # nothing looks this node up again
            else:
                st = <_NodeTask>tasks[node]
            more = _more_of(st)
            if (more is None and not tensor_path and batch_ndim == 0 and needed is None
                    and not flags.anomaly and isinstance(node, OpNode)
                    and (<OpNode>node).scalar_op != 0 and not _has_hooks(node)
                    and st.g0 is not None
                    and (capture is None or node not in capture) and _fast_grad_ok(<OpNode>node, st.g0)):
                # a node of the scalar fast path, on doubles (0: a version check
                # failed, and the generic path below raises the full error)
                if (<OpNode>node)._scalar_run(st.g0, heap, counted, tasks, retain_graph):
                    st.g0 = None
                    continue
            grads = [st.g0]
            owned = [st.owned0]
            if more is not None:
                for slot in more:
                    grads.append(slot[0])
                    owned.append(slot[1])
                _set_more(st, None)
            elif node.num_outputs > 1:
                grads.extend([None] * (node.num_outputs - 1))
                owned.extend([False] * (node.num_outputs - 1))
            st.g0 = None          # buffers are released as soon as the node has run
            # Tensor hooks and retain_grad see the gradient flowing into each output.
            if type(node) is AccumulateGrad:
                t = (<AccumulateGrad>node).variable
                if t._x is not None and t._x.hooks and grads[0] is not None:
                    g0 = _call_hooks(t._x.hooks, grads[0], tensor_path)
                    if g0 is not grads[0]:
                        owned[0] = False
                    grads[0] = g0
            elif _has_hooks(node):
                for k in range(node.num_outputs):
                    if grads[k] is None:
                        continue
                    g0 = _run_tensor_pre_hooks(node, k, grads[k], tensor_path)
                    if g0 is not grads[k]:
                        owned[k] = False
                    grads[k] = g0
                    if node._x.retained is not None and k in node._x.retained:
                        rt = node._x.retained[k]()
                        if rt is not None and accumulate and (capture is None or node in capture):
                            # a copy (as PyTorch's retain_grad): the node still reads
                            # grads[k], and .grad may grow in place meanwhile (threads)
                            _store_grad(<TensorBase>rt, grads[k], False, tensor_path)
                            if walked is not None:
                                _track_stored(<TensorBase>rt, walked)
            if capture is not None and node in capture:
                for (k, pos) in capture[node]:
                    if not accumulate:
                        captured[pos] = grads[k]
                    elif type(node) is not AccumulateGrad:
                        # backward(inputs=[non-leaf]) fills that tensor's .grad
                        if grads[k] is not None:
                            _store_grad(<TensorBase>inputs[pos], grads[k], False, tensor_path)
                            if walked is not None:
                                _track_stored(<TensorBase>inputs[pos], walked)
            if type(node) is AccumulateGrad:
                if accumulate and (capture is None or node in capture):
                    t = (<AccumulateGrad>node).variable
                    # post-accumulate hooks run under the lock too (as PyTorch's): they
                    # see .grad with this call's gradient and no other thread's half-added
                    tx = _lock_grad(t)
                    try:
                        if grads[0] is None:
                            if _grad_of(t) is None:
                                _set_grad(t, new_tensor(np.zeros_like(t._data)))
                        else:
                            _store_grad_locked(t, grads[0], owned[0], tensor_path)
                            if walked is not None:
                                _track_stored(t, walked)
                        if t._x.post_acc_hooks:
                            for entry in list(t._x.post_acc_hooks):
                                entry[1](t)
                    finally:
                        _unlock_grad(tx)
                continue
            if needed is not None and (node not in needed or (
                    node in capture and not _has_needed_child(node, needed))):
                # a differentiated tensor's own node runs only if it leads to another
                # input: its saved values must survive (PyTorch does not run it either)
                continue
            if (owned[0] and not tensor_path and batch_ndim == 0 and isinstance(node, OpNode)
                    and (<OpNode>node).spec.vjp_into is not None and node.num_outputs == 1
                    and not _has_hooks(node) and (capture is None or node not in capture)):
                # a gradient only this backward holds: the rule may write into it,
                # and the buffer goes on as the result (owned downstream)
                out_grads = (<OpNode>node)._apply_into(grads[0], needed)
                grads[0] = None
            else:
                out_grads = node._apply(grads, tensor_path, batch_ndim, needed)
            if flags.anomaly:
                _check_anomaly(node, out_grads)
            if not retain_graph:
                node._release()
            n_edges = len(out_grads)
            for i in range(n_edges):
                p = _edge_ptr(node, i)
                if p == <PyObject*>None:
                    continue
                q = _reach(heap, counted, tasks, node, p)
                g = out_grads[i]
                if g is not None:
                    _add_grad(q, _edge_index(node, i), g, _is_owned(g, grads, tensor_path),
                              tensor_path)
                _reached(heap, counted, q, p)
    finally:
        flags.grad_enabled = prev_grad


cdef bint _is_alias(object g, list grads):
    for x in grads:
        if x is g:
            return True
    return False


cdef bint _has_needed_child(Node node, set needed):
    cdef Py_ssize_t i
    for i in range(_n_edges(node)):
        nxt = _edge(node, i)
        if nxt is not None and nxt in needed:
            return True
    return False


cdef set _needed_nodes(tuple root_edges, dict tasks, set targets):
    """Nodes from which some target is reachable (only those need to run)."""
    cdef dict remaining = {n: (<_NodeTask>st).deps for n, st in tasks.items()}
    cdef list order = []
    cdef list ready = []
    cdef Node node, nxt
    cdef set needed = set()
    cdef Py_ssize_t i
    for e in root_edges:
        node = e[0]
        if remaining.get(node, 0) == 0 and node not in ready:
            ready.append(node)
    while ready:
        node = ready.pop()
        order.append(node)
        for i in range(_n_edges(node)):
            nxt = _edge(node, i)
            if nxt is None:
                continue
            remaining[nxt] -= 1
            if remaining[nxt] == 0:
                ready.append(nxt)
    for node in reversed(order):
        if node in targets or _has_needed_child(node, needed):
            needed.add(node)
    return needed
