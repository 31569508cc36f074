"""The `pgcdc` command of the Python package: the C++ command line (tools/pgcdc), run
inside the extension module, so it uses the same bundled libraries as `import pgcdc`."""

from __future__ import annotations

import signal
import sys

from . import _core


def main() -> None:
    # The dispositions a C program starts with: Python's handlers only set a flag that the
    # C++ code never looks at (Ctrl-C would not stop `pgcdc check`), and Python ignores
    # SIGPIPE (`pgcdc stream | head` ends with SIGPIPE, as the executable does).
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    sys.stdout.flush()
    sys.exit(_core._run_cli(["pgcdc", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
