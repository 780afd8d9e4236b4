"""The installed package is the one under test, and a round trip works."""

from __future__ import annotations

import os

import posixq


def test_runs_against_the_installed_package() -> None:
    """The tests import posixq from site-packages, not from the source tree."""
    source_tree = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    assert not os.path.abspath(posixq.__file__).startswith(source_tree + os.sep + "posixq")


def test_round_trip(make_queue) -> None:  # type: ignore[no-untyped-def]
    """What put() sends, get() returns, byte for byte."""
    mq = make_queue()
    mq.put(b"\x00hello\xff")
    assert mq.get(timeout=1) == b"\x00hello\xff"
