"""The bench's measure of the outcomes rebuild's memory and CPU
(frontdoor_stack.bench.outcomes_rebuild.USAGE_PARENT): the peak resident
set and CPU time of the command it runs alone, not its own, and the
command's exit status passed on."""

from __future__ import annotations

import subprocess
import sys

from frontdoor_stack.bench.outcomes_rebuild import USAGE, USAGE_PARENT

HOLD_200_MB = "import time; block = bytearray(200_000_000); block[::4096] = b'x' * len(block[::4096]); " \
              "end = time.process_time() + 0.3\nwhile time.process_time() < end: pass"


def test_the_figures_are_the_commands_own_and_its_exit_status_passes_on() -> None:
    done = subprocess.run([sys.executable, "-c", USAGE_PARENT, sys.executable, "-c", HOLD_200_MB],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    usage = USAGE.search(done.stdout)
    assert usage is not None, done.stdout
    assert 200_000 <= int(usage[1]) < 400_000  # KiB: the 200 MB block and an interpreter, nothing more
    assert float(usage[2]) >= 0.3
    failed = subprocess.run([sys.executable, "-c", USAGE_PARENT, sys.executable, "-c", "raise SystemExit(3)"],
                            capture_output=True, text=True, timeout=120)
    assert failed.returncode == 3 and USAGE.search(failed.stdout)
