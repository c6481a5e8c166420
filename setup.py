"""Build of the ckeras extension: ckeras/_kernels.pyx + src/kernels/*.c,
linked against OpenBLAS from the scipy-openblas32 package.

No -march=native: vector code is chosen at run time (target_clones), so the
wheel runs on any x86-64. Floating-point contraction is off so that every
clone computes the same bits.
"""
import glob
import os

import numpy
import scipy_openblas32
from Cython.Build import cythonize
from setuptools import Extension, setup

KERNEL_DIR = "src/kernels"
kernel_sources = sorted(glob.glob(os.path.join(KERNEL_DIR, "*.c")))
blas_lib_dir = scipy_openblas32.get_lib_dir()

extension = Extension(
    "ckeras._kernels",
    sources=["ckeras/_kernels.pyx"] + kernel_sources,
    depends=glob.glob(os.path.join(KERNEL_DIR, "*.h"))
    + glob.glob("ckeras/_kernels_src/*.pxi"),
    include_dirs=[KERNEL_DIR, numpy.get_include(),
                  scipy_openblas32.get_include_dir()],
    library_dirs=[blas_lib_dir],
    libraries=[scipy_openblas32.get_library()],
    # in-place builds find OpenBLAS here; auditwheel replaces this with the
    # bundled copy in a repaired wheel
    runtime_library_dirs=[blas_lib_dir],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                   # PyDataMem_SetHandler (numpy >= 1.22) for the array pool
                   ("NPY_TARGET_VERSION", "NPY_1_23_API_VERSION")],
    extra_compile_args=["-O3", "-pthread", "-ffp-contract=off",
                        "-fno-math-errno", "-Wall", "-Werror=implicit-function-declaration",
                        "-Wno-unused-function"],
    extra_link_args=["-pthread"],
)

setup(
    ext_modules=cythonize(
        [extension],
        compiler_directives={"language_level": "3"},
        include_path=["ckeras"],
    ),
)
