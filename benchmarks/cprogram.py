"""Compile mqbench.c, the C reference, once per run into a temporary directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import Optional

from harness import HERE

SOURCE = os.path.join(HERE, "mqbench.c")


class CProgram:
    """The compiled mqbench, or the reason it could not be built (``path`` is None)."""

    def __init__(self, path: Optional[str] = None) -> None:
        self.path = path
        self.why_not = ""
        self.compiler = os.environ.get("CC") or "gcc"
        self._dir = tempfile.mkdtemp(prefix="posixq-bench-")
        if path:  # already built (by the parent of a namespace child)
            return
        if shutil.which(self.compiler) is None:
            self.why_not = f"no C compiler ({self.compiler}) to build mqbench.c"
            return
        binary = os.path.join(self._dir, "mqbench")
        command = [self.compiler, "-O2", "-Wall", "-Wextra", "-o", binary, SOURCE, "-lrt"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            self.why_not = f"{' '.join(command)} failed: {result.stderr.strip()}"
            return
        self.path = binary

    def argv(self, *args: object) -> list[str]:
        assert self.path is not None, self.why_not
        return [self.path, *map(str, args)]

    def cleanup(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
