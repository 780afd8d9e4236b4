"""Sphinx helpers for posixq's documentation, which is built without network.

* ``.. posixq-output:: ARGS`` runs the installed ``posixq ARGS`` at
  build time and shows the command and its output, so that the CLI reference
  can never drift from ``--help``.
* References to the standard library (``select.poll``, ``time.monotonic``)
  become links to docs.python.org, checked by importing the object, where
  intersphinx would need to download an inventory.
* Every name in the ``__all__`` of posixq's public modules must be
  documented somewhere, or the build warns (and ``-W`` fails it).
* References written as a short name inside posixq's own docstrings (e.g.
  ``:raises TimedOutError:`` in a method of ``MessageQueue``) resolve to the
  one documented posixq object of that name; an ambiguous or unknown name
  still fails the nitpicky build.
"""

from __future__ import annotations

import builtins
import importlib
import os
import shlex
import subprocess
import sys
import tempfile
from typing import Any, Optional

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

PYTHON_DOCS = "https://docs.python.org/3/"

_ASYNCIO_PAGES = {
    "asyncio.tasks": "asyncio-task",
    "asyncio.timeouts": "asyncio-task",
    "asyncio.taskgroups": "asyncio-task",
    "asyncio.events": "asyncio-eventloop",
    "asyncio.base_events": "asyncio-eventloop",
    "asyncio.queues": "asyncio-queue",
    "asyncio.exceptions": "asyncio-exceptions",
    "asyncio.runners": "asyncio-runner",
    "asyncio.locks": "asyncio-sync",
}


class PosixqOutput(SphinxDirective):
    """Show ``posixq ARGS`` and what the installed CLI prints for it."""

    required_arguments = 0
    optional_arguments = 1
    final_argument_whitespace = True
    #: ``:returncode: N`` expects that status (default 0); ``:any-returncode:``
    #: accepts whatever the host leads to, and shows it.
    option_spec = {"returncode": directives.nonnegative_int, "any-returncode": directives.flag}

    def run(self) -> list[nodes.Node]:
        args = shlex.split(self.arguments[0]) if self.arguments else []
        expected = self.options.get("returncode", 0)
        # The installed console script, run away from the source tree.
        script = os.path.join(os.path.dirname(sys.executable), "posixq")
        command = [script] if os.path.exists(script) else [sys.executable, "-m", "posixq"]
        with tempfile.TemporaryDirectory() as cwd:
            done = subprocess.run(
                [*command, *args],
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=60,
                env=dict(os.environ, COLUMNS="80"),
            )
        anything = "any-returncode" in self.options
        if done.returncode != expected and not anything:
            raise self.error(
                f"posixq {' '.join(args)} exited with status {done.returncode}, "
                f"not {expected}: {done.stderr.strip()}"
            )
        text = f"$ posixq {shlex.join(args)}\n{done.stdout}{done.stderr}".rstrip()
        if anything:
            text += f"\n$ echo $?\n{done.returncode}"
        block = nodes.literal_block(text, text)
        block["language"] = "console"
        return [block]


def _stdlib_uri(target: str, reftype: str) -> Optional[str]:
    parts = target.split(".")
    if parts[0] not in sys.stdlib_module_names:
        if len(parts) == 1 and reftype in ("exc", "class", "obj"):
            obj = getattr(builtins, target, None)
            if isinstance(obj, type) and issubclass(obj, BaseException):
                return f"{PYTHON_DOCS}library/exceptions.html#{target}"
        return None
    for split in range(len(parts), 0, -1):
        modname = ".".join(parts[:split])
        try:
            obj: Any = importlib.import_module(modname)
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return None
        if split == len(parts):
            return f"{PYTHON_DOCS}library/{modname}.html#module-{modname}"
        page = modname
        if parts[0] == "asyncio":
            page = _ASYNCIO_PAGES.get(getattr(obj, "__module__", ""), "asyncio")
        return f"{PYTHON_DOCS}library/{page}.html#{target}"
    return None


def _resolve(
    app: Sphinx, env: Any, node: nodes.Element, contnode: nodes.Element
) -> Optional[nodes.Node]:
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    reftype = node.get("reftype", "")
    uri = _stdlib_uri(target, reftype)
    if uri is not None:
        return nodes.reference("", "", contnode, internal=False, refuri=uri, reftitle=target)
    in_posixq = str(node.get("py:module") or "").startswith("posixq")
    if not (in_posixq or target.startswith("posixq.")) or node.get("refspecific"):
        return None
    # Look the name up as Sphinx does for ".name" targets, among posixq's objects only.
    domain = env.get_domain("py")
    short = target[len("posixq.") :] if target.startswith("posixq.") else target
    found = domain.find_obj(
        env, None, None, short, "obj" if reftype == "any" else reftype, searchmode=1
    )
    distinct = {obj.node_id: name for name, obj in found if name.startswith("posixq.")}
    if len(distinct) != 1:
        return None
    retry = node.deepcopy()
    retry["refspecific"] = True
    retry["reftarget"] = next(iter(distinct.values()))
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, reftype, retry["reftarget"], retry, contnode
    )


#: The public modules, whose ``__all__`` the API reference must cover.
PUBLIC_MODULES = ("posixq", "posixq.errors", "posixq.waiters", "posixq.limits", "posixq.aio")


def _check_coverage(app: Sphinx, env: Any) -> None:
    objects = env.get_domain("py").objects
    for modname in PUBLIC_MODULES:
        module = importlib.import_module(modname)
        for name in module.__all__:
            if f"{modname}.{name}" not in objects:
                logger.warning("public name %s.%s is not documented", modname, name)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("posixq-output", PosixqOutput)
    app.connect("missing-reference", _resolve)
    app.connect("env-check-consistency", _check_coverage)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
