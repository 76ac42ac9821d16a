# cython: language_level=3, boundscheck=False, wraparound=False, autotestdict=False
"""Compiled elementwise kernels: vectorised, multi-threaded float64 sin and cos
(and the VJPs of tanh and relu, one pass each instead of NumPy's three and two,
also written into the gradient's own buffer), and tanh on x86-64-v4 CPUs.

The C code is in ``_ad_trig.h`` (method and accuracy notes there): sin and cos at
most 2 ulp from libm and the same bits whatever the CPU or the number of threads;
tanh within 1.5 ulp, used only where ``TANH_FAST`` (elsewhere NumPy's tanh).
``autodiff.ops._fast`` decides when to use them (large float64 arrays on the
first-order path) and otherwise calls NumPy.

Every function takes aligned, native-byte-order float64 ndarrays that are C- or
F-contiguous (``usable``/``usable_pair`` tell) and returns a new array with the
same shape and memory order. Arrays of at least ``PARALLEL_MIN`` elements are
split among ``get_num_threads()`` OpenMP threads (when built with OpenMP).

Also here: the pool of large array buffers that ``autograd.functional.hessian``
allocates through (``pool_enter``/``pool_exit``, at the end of this file).
"""
cimport cython
cimport numpy as cnp
import numpy as np
from libc.stddef cimport ptrdiff_t
from libc.math cimport log
from cpython.ref cimport PyObject
from cpython.pycapsule cimport PyCapsule_New

cnp.import_array()

cdef extern from *:
    """
    #ifndef AD_SOURCE_HASH
    #define AD_SOURCE_HASH "unknown"
    #endif
    """
    const char* AD_SOURCE_HASH

cdef extern from "_ad_trig.h" nogil:
    int AD_SIN, AD_COS, AD_SIN_BWD, AD_COS_BWD, AD_TANH_BWD, AD_RELU_BWD, AD_TANH
    int AD_TANH_BWD_INTO, AD_RELU_BWD_INTO
    double AD_TRIG_MAX
    int AD_PAR_MIN
    const char* AD_CLONES_NAME
    void ad_trig(int kind, const double* x, const double* g, double* out,
                 ptrdiff_t n, int nthreads)
    int ad_openmp()
    int ad_default_threads()
    int ad_init()
    int ad_tanh_ok()
    int ad_forked

if ad_init() != 0:
    raise ImportError("autodiff._kernels: pthread_atfork failed")
SOURCE_HASH = AD_SOURCE_HASH.decode("ascii")
OPENMP = bool(ad_openmp())
MAX_ARG = AD_TRIG_MAX
PARALLEL_MIN = AD_PAR_MIN
CLONES = AD_CLONES_NAME.decode("ascii")
# tanh is compiled for x86-64-v4 (AVX-512 + FMA) only, where it beats NumPy's
TANH_FAST = bool(ad_tanh_ok())

# Small arrays go to NumPy: its ufunc is as fast there and gives libm's bits.
cdef Py_ssize_t _min_size = 16
MIN_SIZE = _min_size
cdef int _nthreads = max(1, ad_default_threads())


def get_num_threads():
    """Threads for arrays of PARALLEL_MIN elements or more (1 without OpenMP or
    in a forked child: GNU OpenMP cannot run there)."""
    return 1 if ad_forked else _nthreads


def set_num_threads(int n):
    """Use n threads (at least 1) from now on, in every Python thread."""
    global _nthreads
    if n < 1:
        raise ValueError(f"set_num_threads: need n >= 1, got {n}")
    _nthreads = n if OPENMP else 1


cdef inline bint _usable(object x):
    return (type(x) is cnp.ndarray and cnp.PyArray_SIZE(<cnp.ndarray>x) >= _min_size
            and _ok(x))


cdef inline bint _ok(object a):
    if type(a) is not cnp.ndarray:
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if cnp.PyArray_TYPE(arr) != cnp.NPY_DOUBLE or not cnp.PyArray_ISNOTSWAPPED(arr):
        return False
    if not cnp.PyArray_ISALIGNED(arr):
        return False
    return cnp.PyArray_IS_C_CONTIGUOUS(arr) or cnp.PyArray_IS_F_CONTIGUOUS(arr)


def usable(x):
    """True if x is a float64 ndarray (not a subclass) the kernels take and worth it."""
    return _usable(x)


cdef bint _same_layout(cnp.ndarray g, cnp.ndarray x):
    cdef int d, nd = cnp.PyArray_NDIM(x)
    if cnp.PyArray_NDIM(g) != nd:
        return False
    for d in range(nd):
        if cnp.PyArray_DIM(g, d) != cnp.PyArray_DIM(x, d):
            return False
        if cnp.PyArray_DIM(x, d) > 1 and cnp.PyArray_STRIDE(g, d) != cnp.PyArray_STRIDE(x, d):
            return False
    return True


cdef inline bint _usable_pair(object g, object x):
    return _usable(x) and _ok(g) and _same_layout(<cnp.ndarray>g, <cnp.ndarray>x)


def usable_pair(g, x):
    """usable(x), and g a float64 ndarray of the same shape and memory layout as x."""
    return _usable_pair(g, x)


def usable_into(g, x):
    """usable_pair(g, x), g writeable and not x's memory: the *_into VJPs take them."""
    return (_usable_pair(g, x) and cnp.PyArray_ISWRITEABLE(<cnp.ndarray>g)
            and cnp.PyArray_DATA(<cnp.ndarray>g) != cnp.PyArray_DATA(<cnp.ndarray>x))


cdef int _check_args(object g, object x) except -1:
    """Raise unless x (and g, unless None) are arrays the kernels take, g laid out as x."""
    if not _ok(x) or (g is not None and not _ok(g)):
        raise TypeError("autodiff._kernels: need aligned native float64 ndarrays "
                        "that are C- or F-contiguous")
    if g is not None and not _same_layout(<cnp.ndarray>g, <cnp.ndarray>x):
        raise ValueError("autodiff._kernels: g and x differ in shape or memory layout")
    return 0


cdef object _run(int kind, object g, object x):
    _check_args(g, x)
    cdef cnp.ndarray xa = <cnp.ndarray>x
    cdef const double* gp = NULL
    if g is not None:
        gp = <const double*>cnp.PyArray_DATA(<cnp.ndarray>g)
    cdef bint fortran = not cnp.PyArray_IS_C_CONTIGUOUS(xa)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(xa), cnp.PyArray_DIMS(xa),
                                             cnp.NPY_DOUBLE, fortran)
    cdef const double* xp = <const double*>cnp.PyArray_DATA(xa)
    cdef double* op = <double*>cnp.PyArray_DATA(out)
    cdef ptrdiff_t n = cnp.PyArray_SIZE(xa)
    cdef int nt = _nthreads
    with nogil:
        ad_trig(kind, xp, gp, op, n, nt)
    return out


def sin(x):
    """sin(x), elementwise."""
    return _run(AD_SIN, None, x)


def cos(x):
    """cos(x), elementwise."""
    return _run(AD_COS, None, x)


def tanh(x):
    """tanh(x), elementwise (within 1.5 ulp). Only where TANH_FAST is True."""
    if not TANH_FAST:
        raise RuntimeError("autodiff._kernels.tanh: this CPU or build has no fast tanh "
                           "(TANH_FAST is False); use numpy.tanh")
    return _run(AD_TANH, None, x)


# What ops' forwards call: the kernel where usable(x), else NumPy (anything: small or
# strided arrays, other dtypes, scalars, Tensors). Compiled, so an op can call one
# without a Python frame (OpSpec.forward_direct).
def sin_any(x):
    """sin(x): the kernel for usable(x), else numpy.sin(x)."""
    return _run(AD_SIN, None, x) if _usable(x) else np.sin(x)


def cos_any(x):
    """cos(x): the kernel for usable(x), else numpy.cos(x)."""
    return _run(AD_COS, None, x) if _usable(x) else np.cos(x)


def tanh_any(x):
    """tanh(x): the kernel for usable(x) where TANH_FAST, else numpy.tanh(x)."""
    return _run(AD_TANH, None, x) if TANH_FAST and _usable(x) else np.tanh(x)


def sin_backward(g, x):
    """g * cos(x) in one pass (sin's vector-Jacobian product)."""
    return _run(AD_SIN_BWD, g, x)


def cos_backward(g, x):
    """-g * sin(x) in one pass (cos's vector-Jacobian product)."""
    return _run(AD_COS_BWD, g, x)


def tanh_backward(g, y):
    """g * (1 - y * y) in one pass: tanh's vector-Jacobian product from its output y."""
    return _run(AD_TANH_BWD, g, y)


def relu_backward(g, x):
    """0 where x <= 0, else g (relu's vector-Jacobian product, as PyTorch's), in one pass."""
    return _run(AD_RELU_BWD, g, x)


cdef object _run_into(int kind, object g, object x):
    """The VJP ``kind`` written into g's own buffer (g returned): for a gradient that
    nobody but the caller holds."""
    _check_args(g, x)
    if not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>g):
        raise ValueError("autodiff._kernels: g is read-only")
    cdef const double* xp = <const double*>cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef double* gp = <double*>cnp.PyArray_DATA(<cnp.ndarray>g)
    if <const double*>gp == xp:
        raise ValueError("autodiff._kernels: g and x share their memory")
    cdef ptrdiff_t n = cnp.PyArray_SIZE(<cnp.ndarray>x)
    cdef int nt = _nthreads
    with nogil:
        ad_trig(kind, xp, NULL, gp, n, nt)
    return g


def tanh_backward_into(g, y):
    """tanh_backward(g, y) written into g (returned): same bits, no new array."""
    return _run_into(AD_TANH_BWD_INTO, g, y)


def relu_backward_into(g, x):
    """relu_backward(g, x) written into g (returned): same bits, no new array."""
    return _run_into(AD_RELU_BWD_INTO, g, x)


# -- cross-entropy over rows of class scores (autodiff.ops.nn) -----------------------
# x[i, target[i]] for every row, without building a flat index array and a fancy-index
# copy (three NumPy calls of ~1-2 us each on the small batches of a training step).

cdef inline bint _int64_vector(object t):
    """t an aligned, native, C-contiguous 1-d int64 ndarray."""
    return (type(t) is cnp.ndarray and cnp.PyArray_TYPE(<cnp.ndarray>t) == cnp.NPY_INT64
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>t) and cnp.PyArray_ISALIGNED(<cnp.ndarray>t)
            and cnp.PyArray_NDIM(<cnp.ndarray>t) == 1
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>t))


cdef inline bint _c_matrix(object x):
    """x a C-contiguous float64 2-d array."""
    return (_ok(x) and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>x)
            and cnp.PyArray_NDIM(<cnp.ndarray>x) == 2)


cdef inline bint _rows_ok(object x, object target):
    """x a C-contiguous float64 (n, c) array and target n int64 class indices."""
    return (_c_matrix(x) and _int64_vector(target)
            and cnp.PyArray_DIM(<cnp.ndarray>target, 0) == cnp.PyArray_DIM(<cnp.ndarray>x, 0))


def rows_usable(x, target):
    """True if ``rows_pick_sum``/``rows_subtract_at`` take (x, target)."""
    return _rows_ok(x, target)


cdef Py_ssize_t _first_out_of_range(object target, Py_ssize_t c):
    """Position of the first class index of ``target`` (an _int64_vector) outside
    [0, c), or -1."""
    cdef Py_ssize_t i, n = cnp.PyArray_DIM(<cnp.ndarray>target, 0)
    cdef const long long* tp = <const long long*>cnp.PyArray_DATA(<cnp.ndarray>target)
    for i in range(n):
        if tp[i] < 0 or tp[i] >= c:
            return i
    return -1


cdef Py_ssize_t _checked_rows(object x, object target) except -1:
    """The number of classes c of (x, target), which the row helpers take and whose
    class indices are all in [0, c); raises otherwise."""
    if not _rows_ok(x, target):
        raise TypeError("autodiff._kernels: need a C-contiguous float64 (n, c) array and "
                        "n int64 class indices")
    cdef Py_ssize_t c = cnp.PyArray_DIM(<cnp.ndarray>x, 1)
    cdef Py_ssize_t bad = _first_out_of_range(target, c)
    if bad >= 0:
        raise IndexError(f"class index {target[bad]} out of range [0, {c})")
    return c


def targets_in_range(target, Py_ssize_t c):
    """True if every class index in ``target`` (int64, 1-d, contiguous) is in [0, c)."""
    if not _int64_vector(target):
        raise TypeError("autodiff._kernels.targets_in_range: need a contiguous 1-d int64 array")
    return _first_out_of_range(target, c) < 0


def rows_pick_sum(x, target):
    """sum over rows i of x[i, target[i]] (a float), summed in row order.

    Raises IndexError for a class index outside [0, c).
    """
    cdef Py_ssize_t c = _checked_rows(x, target)
    cdef Py_ssize_t i, n = cnp.PyArray_DIM(<cnp.ndarray>x, 0)
    cdef const double* xp = <const double*>cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef const long long* tp = <const long long*>cnp.PyArray_DATA(<cnp.ndarray>target)
    cdef double total = 0.0
    for i in range(n):
        total += xp[i * c + tp[i]]
    return total


def rows_subtract_at(x, target, double value):
    """x[i, target[i]] -= value for every row, in place.

    Raises IndexError for a class index outside [0, c) (x is then unchanged).
    """
    cdef Py_ssize_t c = _checked_rows(x, target)
    cdef Py_ssize_t i, n = cnp.PyArray_DIM(<cnp.ndarray>x, 0)
    cdef double* xp = <double*>cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef const long long* tp = <const long long*>cnp.PyArray_DATA(<cnp.ndarray>target)
    if not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>x):
        raise ValueError("autodiff._kernels.rows_subtract_at: x is read-only")
    for i in range(n):
        xp[i * c + tp[i]] -= value
    return None


# -- softmax and log-softmax over the rows of a C-contiguous float64 (n, c) array ------
# The row max and the row sums in C loops: NumPy's reductions along a short last axis
# cost ~2-4 us each in set-up on the batches of a training step. exp stays NumPy's.

cdef inline bint _rows_2d(object x):
    return _c_matrix(x) and cnp.PyArray_DIM(<cnp.ndarray>x, 1) > 0


def rows_2d(x):
    """True if ``x`` is a C-contiguous float64 2-d array with at least one column (what
    the helpers below take)."""
    return _rows_2d(x)


cdef double _pairwise_sum(const double* a, Py_ssize_t n) noexcept nogil:
    """NumPy's pairwise summation (add.reduce along a contiguous axis): same bits."""
    cdef Py_ssize_t i, n2
    cdef double res, r0, r1, r2, r3, r4, r5, r6, r7
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    if n <= 128:
        r0, r1, r2, r3 = a[0], a[1], a[2], a[3]
        r4, r5, r6, r7 = a[4], a[5], a[6], a[7]
        i = 8
        while i < n - (n % 8):
            r0 += a[i]
            r1 += a[i + 1]
            r2 += a[i + 2]
            r3 += a[i + 3]
            r4 += a[i + 4]
            r5 += a[i + 5]
            r6 += a[i + 6]
            r7 += a[i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise_sum(a, n2) + _pairwise_sum(a + n2, n - n2)


cdef cnp.ndarray _checked_2d(object x, str name):
    if not _rows_2d(x):
        raise TypeError(f"autodiff._kernels.{name}: need a C-contiguous float64 2-d array "
                        "with at least one column")
    return <cnp.ndarray>x


def rows_minus_max(x):
    """x minus the max of its row, a new array; a row whose max is inf or nan is not
    shifted (so an all -inf row stays -inf, without inf - inf)."""
    cdef cnp.ndarray xa = _checked_2d(x, "rows_minus_max")
    cdef Py_ssize_t i, j, n = cnp.PyArray_DIM(xa, 0), c = cnp.PyArray_DIM(xa, 1)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(2, cnp.PyArray_DIMS(xa), cnp.NPY_DOUBLE, 0)
    cdef const double* xp = <const double*>cnp.PyArray_DATA(xa)
    cdef double* op = <double*>cnp.PyArray_DATA(out)
    cdef const double* row
    cdef double m, v
    with nogil:
        for i in range(n):
            row = xp + i * c
            m = row[0]
            for j in range(1, c):
                v = row[j]
                if v > m or v != v:         # a nan wins, as in np.maximum
                    m = v
            if not (m - m == 0.0):          # inf or nan: no shift
                m = 0.0
            for j in range(c):
                op[i * c + j] = row[j] - m
    return out


def rows_log_softmax_finish(z, e):
    """z[i, :] -= log(sum of e[i, :]) in place, with e = exp(z); returns z."""
    cdef cnp.ndarray za = _checked_2d(z, "rows_log_softmax_finish")
    cdef cnp.ndarray ea = _checked_2d(e, "rows_log_softmax_finish")
    cdef Py_ssize_t i, j, n = cnp.PyArray_DIM(za, 0), c = cnp.PyArray_DIM(za, 1)
    if cnp.PyArray_DIM(ea, 0) != n or cnp.PyArray_DIM(ea, 1) != c or not cnp.PyArray_ISWRITEABLE(za):
        raise ValueError("autodiff._kernels.rows_log_softmax_finish: z (writeable) and e "
                         "need the same shape")
    cdef double* zp = <double*>cnp.PyArray_DATA(za)
    cdef const double* ep = <const double*>cnp.PyArray_DATA(ea)
    cdef double lse
    with nogil:
        for i in range(n):
            lse = log(_pairwise_sum(ep + i * c, c))
            for j in range(c):
                zp[i * c + j] = zp[i * c + j] - lse
    return z


@cython.cdivision(True)     # IEEE division: a zero sum gives inf or nan, as in NumPy
def rows_divide_by_sum(e):
    """e[i, :] /= sum of e[i, :] in place; returns e."""
    cdef cnp.ndarray ea = _checked_2d(e, "rows_divide_by_sum")
    cdef Py_ssize_t i, j, n = cnp.PyArray_DIM(ea, 0), c = cnp.PyArray_DIM(ea, 1)
    if not cnp.PyArray_ISWRITEABLE(ea):
        raise ValueError("autodiff._kernels.rows_divide_by_sum: e is read-only")
    cdef double* ep = <double*>cnp.PyArray_DATA(ea)
    cdef double total
    with nogil:
        for i in range(n):
            total = _pairwise_sum(ep + i * c, c)
            for j in range(c):
                ep[i * c + j] = ep[i * c + j] / total
    return e


def all_finite(x):
    """True if no element of x is inf or nan (a C loop for contiguous float64 arrays)."""
    if not _ok(x):
        return bool(np.isfinite(x).all())
    cdef Py_ssize_t i, n = cnp.PyArray_SIZE(<cnp.ndarray>x)
    cdef const double* xp = <const double*>cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef double acc = 0.0
    for i in range(n):
        acc += xp[i] * 0.0      # 0 for a finite element, nan for inf or nan
    return acc == 0.0


# -- a pool of large array buffers, for autograd.functional.hessian -------------------
# A batched Hessian makes and frees a dozen n x n arrays per call (320 KB each at n = 200).
# glibc gives them back to the OS at the end of the call (the heap top is trimmed above
# twice its mmap threshold) and the next call page-faults every page in again, which
# takes longer than the arithmetic. Arrays allocated while the pool is on (a NumPy memory
# handler, set in the current context only) keep up to POOL_SLOTS freed buffers of
# POOL_MIN_BLOCK bytes or more, POOL_MAX_BYTES in all (the oldest go first), for the next
# request of the same size; everything else goes to NumPy's default allocator.
cdef extern from *:
    """
    #include <string.h>
    #include "pythread.h"
    #define AD_POOL_SLOTS 16
    #define AD_POOL_MIN_BLOCK ((size_t)64 << 10)
    #define AD_POOL_MAX_BYTES ((size_t)16 << 20)

    typedef struct { void *ptr; size_t size; } ad_pool_slot;
    static ad_pool_slot ad_pool_slots[AD_POOL_SLOTS];    /* oldest first */
    static int ad_pool_count = 0;
    static size_t ad_pool_bytes = 0;
    static PyDataMemAllocator *ad_pool_base = NULL;      /* NumPy's default allocator */
    static PyThread_type_lock ad_pool_lock = NULL;

    /* Remove slot i (the lock is held). */
    static void ad_pool_drop(int i) {
        ad_pool_bytes -= ad_pool_slots[i].size;
        ad_pool_count--;
        memmove(ad_pool_slots + i, ad_pool_slots + i + 1,
                (size_t)(ad_pool_count - i) * sizeof(ad_pool_slot));
    }
    /* A kept buffer of exactly `size` bytes (the newest), or NULL. */
    static void *ad_pool_take(size_t size) {
        void *p = NULL;
        if (size < AD_POOL_MIN_BLOCK) return NULL;
        PyThread_acquire_lock(ad_pool_lock, WAIT_LOCK);
        for (int i = ad_pool_count - 1; i >= 0; i--) {
            if (ad_pool_slots[i].size == size) {
                p = ad_pool_slots[i].ptr;
                ad_pool_drop(i);
                break;
            }
        }
        PyThread_release_lock(ad_pool_lock);
        return p;
    }
    static void *ad_pool_malloc(void *ctx, size_t size) {
        void *p = ad_pool_take(size);
        return p ? p : ad_pool_base->malloc(ad_pool_base->ctx, size);
    }
    static void *ad_pool_calloc(void *ctx, size_t nelem, size_t elsize) {
        void *p = (elsize && nelem > SIZE_MAX / elsize) ? NULL : ad_pool_take(nelem * elsize);
        if (p) return memset(p, 0, nelem * elsize);
        return ad_pool_base->calloc(ad_pool_base->ctx, nelem, elsize);
    }
    /* Every buffer comes from the default allocator, so it can resize any of them. */
    static void *ad_pool_realloc(void *ctx, void *ptr, size_t size) {
        return ad_pool_base->realloc(ad_pool_base->ctx, ptr, size);
    }
    /* `size` is the size the buffer was requested with (NumPy's default allocator
       relies on it the same way for its cache of small buffers). */
    static void ad_pool_free(void *ctx, void *ptr, size_t size) {
        ad_pool_slot out[AD_POOL_SLOTS];
        int n_out = 0;
        if (ptr == NULL || size < AD_POOL_MIN_BLOCK || size > AD_POOL_MAX_BYTES) {
            ad_pool_base->free(ad_pool_base->ctx, ptr, size);
            return;
        }
        PyThread_acquire_lock(ad_pool_lock, WAIT_LOCK);
        while (ad_pool_count == AD_POOL_SLOTS || ad_pool_bytes + size > AD_POOL_MAX_BYTES) {
            out[n_out++] = ad_pool_slots[0];
            ad_pool_drop(0);
        }
        ad_pool_slots[ad_pool_count].ptr = ptr;
        ad_pool_slots[ad_pool_count].size = size;
        ad_pool_count++;
        ad_pool_bytes += size;
        PyThread_release_lock(ad_pool_lock);
        for (int i = 0; i < n_out; i++)
            ad_pool_base->free(ad_pool_base->ctx, out[i].ptr, out[i].size);
    }
    static void ad_pool_clear(void) {
        PyThread_acquire_lock(ad_pool_lock, WAIT_LOCK);
        while (ad_pool_count) {
            ad_pool_slot s = ad_pool_slots[ad_pool_count - 1];
            ad_pool_drop(ad_pool_count - 1);
            ad_pool_base->free(ad_pool_base->ctx, s.ptr, s.size);
        }
        PyThread_release_lock(ad_pool_lock);
    }
    static PyDataMem_Handler ad_pool_handler = {
        "autodiff_pool", 1,
        {NULL, ad_pool_malloc, ad_pool_calloc, ad_pool_realloc, ad_pool_free}};
    static PyObject *ad_pool_default(void) { return PyDataMem_DefaultHandler; }
    static int ad_pool_init(void) {
        PyDataMem_Handler *h = (PyDataMem_Handler *)PyCapsule_GetPointer(
            PyDataMem_DefaultHandler, "mem_handler");
        if (h == NULL) return -1;
        ad_pool_base = &h->allocator;
        ad_pool_lock = PyThread_allocate_lock();
        if (ad_pool_lock == NULL) { PyErr_NoMemory(); return -1; }
        return 0;
    }
    """
    cnp.PyDataMem_Handler ad_pool_handler
    int ad_pool_init() except -1
    void ad_pool_clear()
    PyObject* ad_pool_default()
    int ad_pool_count
    size_t ad_pool_bytes
    int AD_POOL_SLOTS
    size_t AD_POOL_MIN_BLOCK, AD_POOL_MAX_BYTES

ad_pool_init()
POOL_SLOTS = AD_POOL_SLOTS
POOL_MIN_BLOCK = AD_POOL_MIN_BLOCK
POOL_MAX_BYTES = AD_POOL_MAX_BYTES
# The capsule lives as long as the module: every array allocated through it refers to it.
cdef object _pool_handler = PyCapsule_New(&ad_pool_handler, "mem_handler", NULL)


def pool_enter():
    """Allocate NumPy arrays through the pool in the current context; returns the token
    for ``pool_exit``. A context with a handler other than NumPy's default (a user's own,
    or the pool already) is left as it is."""
    current = cnp.PyDataMem_GetHandler()
    if <PyObject*>current != ad_pool_default():
        return None
    return cnp.PyDataMem_SetHandler(_pool_handler)


def pool_exit(token):
    """Restore the allocator that ``pool_enter`` replaced."""
    if token is not None:
        cnp.PyDataMem_SetHandler(token)


def pool_stats():
    """(buffers kept, bytes kept) by the pool."""
    return ad_pool_count, ad_pool_bytes


def pool_clear():
    """Give every buffer the pool keeps back to NumPy's default allocator."""
    ad_pool_clear()
