"""What `import posixq` loads, and that an error path loads nothing more."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _new_modules(setup: str, statement: str) -> set[str]:
    """The modules a fresh interpreter loads while running ``statement`` after ``setup``."""
    code = textwrap.dedent(
        f"""
        import sys
        {setup}
        before = set(sys.modules)
        {statement}
        print(*set(sys.modules) - before)
        """
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_import_loads_only_what_the_core_needs() -> None:
    """`import posixq` loads neither gevent, asyncio nor slow helpers such as dataclasses."""
    loaded = _new_modules("", "import posixq")
    assert {"posixq.queue", "posixq.limits"} <= loaded
    assert not loaded & {"gevent", "asyncio", "dataclasses", "secrets", "inspect"}


def test_an_error_imports_nothing_new() -> None:
    """Explaining an error loads no module: it must work when no file can be opened."""
    loaded = _new_modules(
        "import posixq",
        "try: posixq.MessageQueue('/posixq-import-test-over', 1 << 30, 1)\n"
        "        except ValueError: pass",
    )
    assert loaded == set()
