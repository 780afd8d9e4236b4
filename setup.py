# cffi_modules cannot be declared in pyproject.toml yet; everything else is there.
from setuptools import setup

setup(cffi_modules=["build_ffi.py:ffibuilder"])
