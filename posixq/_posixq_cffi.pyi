# Types of the compiled module that build_ffi.py generates. cffi objects are
# opaque here; posixq._lowlevel is the only module that handles them.
from typing import Any

ffi: Any
lib: Any
