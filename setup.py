"""Build the optional compiled core (Cython); everything else is in pyproject.toml.

The extension is optional: where it cannot be built, Jianwang runs the numpy versions of
the same functions (identical results, slower)."""

from setuptools import Extension, setup

try:
    from Cython.Build import cythonize
except ImportError:  # no Cython at build time: pure-Python install
    ext_modules = []
else:
    ext_modules = cythonize(
        [
            Extension(
                "jianwang.fingerprint._core",
                ["src/jianwang/fingerprint/_core.pyx"],
                extra_compile_args=["-O3"],
                optional=True,
            )
        ],
        language_level=3,
        quiet=True,
    )

setup(ext_modules=ext_modules)
