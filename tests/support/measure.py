"""Run a command and report its peak RSS and wall time as the kernel counts them.

    python measure.py LIMIT_BYTES KILL_AFTER_SECONDS REPORT_FILE COMMAND [ARGS...]

The command inherits stdin, stdout and stderr. Its address space is capped at LIMIT_BYTES
(RLIMIT_AS), so that an attack that makes the program allocate without bound kills the program,
not the machine running the tests; a command still running after KILL_AFTER_SECONDS is killed
(a hang fails the test instead of hanging it). REPORT_FILE gets JSON: peak_rss_kib (ru_maxrss from wait4 for
exactly this child), wall_seconds, exit_code (128 + signal when killed by a signal).
"""

import json
import os
import resource
import subprocess
import sys
import threading
import time


def main() -> int:
    limit, kill_after = int(sys.argv[1]), float(sys.argv[2])
    report, command = sys.argv[3], sys.argv[4:]

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    start = time.monotonic()
    child = subprocess.Popen(command, preexec_fn=cap)
    timer = threading.Timer(kill_after, child.kill)
    timer.start()
    _, status, usage = os.wait4(child.pid, 0)
    timer.cancel()
    wall = time.monotonic() - start
    if os.WIFSIGNALED(status):
        code = 128 + os.WTERMSIG(status)
    else:
        code = os.WEXITSTATUS(status)
    with open(report, "w", encoding="utf-8") as out:
        json.dump({"peak_rss_kib": usage.ru_maxrss, "wall_seconds": wall, "exit_code": code}, out)
    return code


if __name__ == "__main__":
    sys.exit(main())
