"""Tensors and nodes are instances of heap types made by the core (untracked by the
cyclic GC) whose dealloc is the cdef base's plus the type's reference: freeing one
must give back exactly the reference its creation took, also for a user's subclass."""
import sys
import weakref

import autodiff as ad


def _refs(cls):
    n = sys.getrefcount(cls)    # (outside an assert: pytest's rewriting holds temporaries)
    return n


def test_freeing_tensors_and_nodes_returns_their_types_references():
    x = ad.tensor(1.5, requires_grad=True)
    y = x * 2.0
    node_cls, tensor_cls = type(y.grad_fn), type(y)
    del y
    before = (_refs(node_cls), _refs(tensor_cls))
    for _ in range(1000):
        y = x * 2.0
        del y
    assert (_refs(node_cls), _refs(tensor_cls)) == before


def test_a_python_subclass_of_tensor_is_freed_once():
    class Sub(ad.Tensor):
        pass

    before = _refs(Sub)
    s = Sub.__new__(Sub)
    s.note = "a __dict__ too"
    assert _refs(Sub) == before + 1
    probe = weakref.ref(s)
    del s
    assert probe() is None and _refs(Sub) == before


def test_graph_objects_die_with_their_last_reference():
    x = ad.tensor(0.5, requires_grad=True)
    y = ad.sin(x * 3.0)
    node = weakref.ref(y.grad_fn)
    inner = weakref.ref(y.grad_fn.next_functions[0][0])
    del y
    assert node() is None and inner() is None
