"""What `import posixq` costs: the modules it loads."""

from __future__ import annotations

import subprocess
import sys


def _modules_loaded_by(statement: str) -> set[str]:
    code = f"import sys; before = set(sys.modules); {statement}; print(*set(sys.modules) - before)"
    out = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_import_loads_neither_gevent_nor_the_limits_module() -> None:
    """`import posixq` loads neither gevent nor the slow host-limits module and its imports."""
    loaded = _modules_loaded_by("import posixq")
    assert "posixq.queue" in loaded
    assert not loaded & {"gevent", "posixq.limits", "dataclasses", "secrets", "asyncio"}


def test_limits_load_on_an_error_path() -> None:
    """The host-limits module is loaded once an error needs it to explain itself."""
    loaded = _modules_loaded_by(
        "import posixq\n"
        "try: posixq.MessageQueue('/posixq-import-test-over', 1 << 30, 1)\n"
        "except ValueError: pass"
    )
    assert "posixq.limits" in loaded
