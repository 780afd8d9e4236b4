"""Sphinx configuration for posixq's documentation.

The docs are built against the installed package (``tox -e docs`` installs
the wheel), never the source tree, so that autodoc shows what users get.
There is no network: references to the standard library become plain links
to docs.python.org through the ``posixq_docs`` extension instead of
intersphinx, and nitpicky mode still checks every reference.
"""

from __future__ import annotations

import os
import sys

DOCS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(DOCS, "_ext"))

import posixq  # noqa: E402  (the installed package)

project = "posixq"
author = "the posixq developers"
copyright = "2026, the posixq developers"
release = posixq.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "myst_parser",
    "posixq_docs",
]

# reStructuredText only: Markdown is parsed just where a page includes it
# (the benchmark results), so stray .md files never become pages.
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build", "_ext", "examples", "_fault_findings.md"]
root_doc = "index"

nitpicky = True
highlight_language = "python3"
pygments_style = "sphinx"

html_theme = "furo"
html_title = f"posixq {release}"
html_static_path: list[str] = []
html_show_sourcelink = False

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "all"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_default_options = {"show-inheritance": True}

myst_enable_extensions: list[str] = []
suppress_warnings = ["myst.header"]

# Examples in the pages run as doctests, against the real kernel. Each
# group gets queue names of its own (pid and random suffix), so that
# parallel builds and other programs on the host never collide, and every
# name handed out is unlinked when the group ends. Docstring examples are
# rendered but not run: only explicit doctest directives are.
doctest_test_doctest_blocks = ""
doctest_global_setup = f"""
import contextlib as _contextlib
import os as _os
import re as _re
import secrets as _secrets
import subprocess as _subprocess
import sys as _sys
import tempfile as _tempfile

import posixq

_NAMES = []
_EXAMPLES = {os.path.join(DOCS, "examples")!r}


def unique_name(label="doc"):
    name = f"/posixq-docs-{{label}}-{{_os.getpid()}}-{{_secrets.token_hex(4)}}"
    _NAMES.append(name)
    return name


def run_example(filename, name, stdin=None, args=()):
    '''Run docs/examples/<filename> with its queue name replaced by ``name``.'''
    with open(_os.path.join(_EXAMPLES, filename)) as f:
        source = f.read()
    source = _re.sub(r'"/posixq-[a-z-]+"', repr(name), source)
    with _tempfile.TemporaryDirectory() as cwd:
        done = _subprocess.run(
            [_sys.executable, "-c", source, *args], cwd=cwd, input=stdin,
            capture_output=True, text=True, timeout=60,
        )
    print(done.stdout, end="")
    if done.returncode:
        print(f"exit status {{done.returncode}}")
        print(done.stderr, end="")


def run_cli(*args, stdin=None):
    '''Run ``posixq ARGS`` (the installed console script); print its output and status.'''
    script = _os.path.join(_os.path.dirname(_sys.executable), "posixq")
    with _tempfile.TemporaryDirectory() as cwd:
        done = _subprocess.run(
            [script, *args], cwd=cwd, input=stdin, capture_output=True, text=True,
            timeout=60, env=dict(_os.environ, COLUMNS="80"),
        )
    print(done.stdout, end="")
    print(done.stderr, end="")
    if done.returncode:
        print(f"exit status {{done.returncode}}")
"""
doctest_global_cleanup = """
for _name in _NAMES:
    with _contextlib.suppress(FileNotFoundError):
        posixq.unlink(_name)
"""
