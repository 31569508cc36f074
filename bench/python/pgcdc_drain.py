#!/usr/bin/env python3
"""pgcdc's Python consumer for ../shared/bench/drain (see README.md here).

Streams $SLOT with pgcdc.open_stream and reads every change as typed Python values:
each change's new and old row is converted (Decimal, datetime, parsed json, lists ...).
Acknowledges each transaction's last change, stops at $ENDPOS (or, when ENDPOS is
empty, on SIGINT/SIGTERM) and prints the number of row changes (insert, update, delete)
as its last line.

Environment (the harness contract): DSN, SLOT, PUBLICATION, ENDPOS, FEEDBACK_S.
"""

import os
import signal
import sys

import pgcdc


def main() -> int:
    stream = pgcdc.open_stream(
        os.environ["DSN"],
        slot=os.environ["SLOT"],
        publications=[os.environ["PUBLICATION"]],
        stop_at_lsn=os.environ.get("ENDPOS") or None,
        status_interval=float(os.environ.get("FEEDBACK_S") or 1),
        application_name="pgcdc_python_drain",
    )
    for sig in (signal.SIGINT, signal.SIGTERM):  # live mode: end cleanly, exit 0
        signal.signal(sig, lambda *_: stream.cancel())
    rows = values = 0
    with stream:
        for change in stream:
            # .new / .old build every typed value of the row (Decimal, datetime, parsed
            # json, lists, ...): that is the work measured. Truncates and messages have
            # neither.
            new, old = change.new, change.old
            if new is not None:
                values += len(new)
            if old is not None:
                values += len(old)
            if new is not None or old is not None:
                rows += 1
            if change.last_in_transaction:
                # Whole transactions are what the slot can move past; with everything
                # acknowledged it also follows the server's keepalives (live mode).
                stream.ack(change)
    print("%d values read" % values, file=sys.stderr)
    print(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
