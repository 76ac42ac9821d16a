"""Builds autodiff's compiled engine (autodiff/_core.pyx) and its elementwise kernels
(autodiff/_kernels.pyx + _ad_trig.h, with OpenMP when the compiler has it) with
Cython and NumPy's headers."""
import hashlib
import os
import sys
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
PYX = os.path.join("autodiff", "_core.pyx")
KERNELS = [os.path.join("autodiff", "_kernels.pyx"), os.path.join("autodiff", "_ad_trig.h")]


def sources_hash(paths):
    """The import refuses an extension built from another version of its sources."""
    h = hashlib.sha256()
    for path in paths:
        with open(os.path.join(HERE, path), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def openmp_flags():
    """(compile, link) flags for OpenMP, or ([], []) when a test program does not build.

    Without OpenMP (e.g. Apple clang without libomp) the kernels build serial.
    AUTODIFF_NO_OPENMP=1 forces the serial build.
    """
    if os.environ.get("AUTODIFF_NO_OPENMP"):
        return [], []
    from setuptools._distutils.ccompiler import new_compiler
    from setuptools._distutils.sysconfig import customize_compiler

    cc = new_compiler()
    customize_compiler(cc)
    msvc = cc.compiler_type == "msvc"
    flag = "/openmp" if msvc else "-fopenmp"
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "omp_test.c")
        with open(src, "w") as f:
            f.write("#include <omp.h>\nint main(void) {\n    int n = 0;\n"
                    "    #pragma omp parallel for reduction(+: n)\n"
                    "    for (int i = 0; i < 4; i++) n += omp_get_max_threads() > 0;\n"
                    "    return n == 4 ? 0 : 1;\n}\n")
        try:
            objects = cc.compile([src], output_dir=tmp, extra_postargs=[flag])
            cc.link_executable(objects, os.path.join(tmp, "omp_test"),
                               extra_postargs=[] if msvc else [flag])
        except Exception:  # CompileError, LinkError, a missing compiler
            print("autodiff: no OpenMP; building the kernels single-threaded", file=sys.stderr)
            return [], []
    return [flag], ([] if msvc else [flag])


source_hash = sources_hash([PYX])
omp_compile, omp_link = openmp_flags()

# -g0 overrides the -g in Python's own CFLAGS: debug info would triple the
# size of the wheel and is of no use to users of an optimised build.
extra_compile_args = [] if sys.platform == "win32" else ["-O3", "-g0"]
# No contraction into fused multiply-adds in the kernels: the vector and scalar
# code then give the same bits (see _ad_trig.h).
kernel_args = [] if sys.platform == "win32" else ["-ffp-contract=off"]

extensions = [
    Extension(
        "autodiff._core",
        [PYX],
        include_dirs=[np.get_include()],
        define_macros=[("AD_SOURCE_HASH", f'"{source_hash}"'),
                       ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=extra_compile_args,
    ),
    Extension(
        "autodiff._kernels",
        [KERNELS[0]],
        depends=[KERNELS[1]],
        include_dirs=[np.get_include(), "autodiff"],
        define_macros=[("AD_SOURCE_HASH", f'"{sources_hash(KERNELS)}"'),
                       ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=extra_compile_args + kernel_args + omp_compile,
        extra_link_args=omp_link,
    ),
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={"language_level": 3, "boundscheck": False, "wraparound": False},
        annotate=bool(os.environ.get("AUTODIFF_ANNOTATE")),
    ),
)
