"""``python -m posixq``: the command line (see :mod:`posixq.cli`)."""

from .cli import run

if __name__ == "__main__":
    run()
