"""Builds autodiff's compiled engine (autodiff/_core.pyx) with Cython and NumPy's headers."""
import hashlib
import os
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
PYX = os.path.join("autodiff", "_core.pyx")

with open(os.path.join(HERE, PYX), "rb") as f:
    # The import refuses a core built from another version of the source.
    source_hash = hashlib.sha256(f.read()).hexdigest()[:16]

# -g0 overrides the -g in Python's own CFLAGS: debug info would triple the
# size of the wheel and is of no use to users of an optimised build.
extra_compile_args = [] if sys.platform == "win32" else ["-O3", "-g0"]

extensions = [
    Extension(
        "autodiff._core",
        [PYX],
        include_dirs=[np.get_include()],
        define_macros=[("AD_SOURCE_HASH", f'"{source_hash}"'),
                       ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=extra_compile_args,
    )
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={"language_level": 3, "boundscheck": False, "wraparound": False},
        annotate=bool(os.environ.get("AUTODIFF_ANNOTATE")),
    ),
)
