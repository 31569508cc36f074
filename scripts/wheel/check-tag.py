#!/usr/bin/env python3
"""check-tag.py MAX_MINOR WHEEL SHOW_OUTPUT: fails unless `auditwheel show` found the
repaired wheel consistent with manylinux_2_MAX_MINOR or older and the wheel carries that
tag; prints the wheel's tag and size."""
import os
import re
import sys


def main(max_minor: str, wheel: str, show_path: str) -> int:
    show = open(show_path, encoding="utf-8").read()
    found = re.search(r'consistent with\s+the\s+following\s+platform\s+tag:'
                      r'\s+"(manylinux_2_(\d+)_x86_64)"', show)
    if not found:
        print(f"wheel: auditwheel does not place {wheel} in a manylinux policy:\n{show}",
              file=sys.stderr)
        return 1
    tag, minor = found.group(1), int(found.group(2))
    if minor > int(max_minor):
        print(f"wheel: {wheel} is {tag}, newer than manylinux_2_{max_minor}:\n{show}",
              file=sys.stderr)
        return 1
    if tag not in os.path.basename(wheel):
        print(f"wheel: {wheel} is not tagged {tag}", file=sys.stderr)
        return 1
    print(f"wheel: {os.path.basename(wheel)}: {tag}, {os.path.getsize(wheel) / 1e6:.1f} MB",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
