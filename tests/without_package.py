"""Run the ``inspection`` CLI as on a machine that lacks one Python package.

Usage: python tests/without_package.py PACKAGE ARGS...
"""

from __future__ import annotations

import sys

sys.modules[sys.argv[1]] = None  # type: ignore[assignment]  # import now raises ImportError

from inspection.cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[2:]))
