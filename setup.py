"""Build of augkit's one compiled module (everything else is in pyproject.toml)."""

import sys

from setuptools import Extension, setup

# No fused multiply-add contraction: the noise kernel's float32 rounding must be the same on
# every CPU and on both of its paths (see augkit/_kernels.c).
flags = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=off", "-fno-math-errno", "-std=c11"]

setup(ext_modules=[Extension("augkit._kernels", ["augkit/_kernels.c"], extra_compile_args=flags)])
