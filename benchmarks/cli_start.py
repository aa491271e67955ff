"""Cold start of the `rag` command: wall time of `rag --help` in a fresh interpreter.

Every run is a new process (nothing imported yet; byte-code caches warm, as after the first run on
a user's machine). The baseline, `python -c pass`, is measured in the same run and interleaved
round by round with the commands, so drift in the machine's load hits all of them alike; the
medians, the ratio to the baseline and the CPU are printed. The goal: `rag --help` under 1 s on
2 cores.

    python benchmarks/cli_start.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine import cpu_name  # benchmarks/machine.py (the script folder is on sys.path)

REPO = Path(__file__).resolve().parent.parent
GOAL_S = 1.0
COMMANDS = {
    "python -c pass (baseline)": ["-c", "pass"],
    "python -c 'import typer'": ["-c", "import typer"],
    "rag --help": ["-m", "cli", "--help"],
    "rag ask --help": ["-m", "cli", "ask", "--help"],
}




def wall_time(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, cwd=REPO, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="Timed runs of each command (median reported; >= 5).")
    runs = max(5, parser.parse_args().runs)
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "100"}
    for args in COMMANDS.values():  # once each, untimed: byte-code caches written, files in the page cache
        wall_time(args, env)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, args in COMMANDS.items():
            times[name].append(wall_time(args, env))
    base = statistics.median(times["python -c pass (baseline)"])
    print(f"CPU: {cpu_name()} ({os.cpu_count()} cores visible), Python {platform.python_version()}, {runs} runs each")
    for name, values in times.items():
        med = statistics.median(values)
        spread = f"(min {min(values):.3f}, max {max(values):.3f})"
        print(f"{name:<28} median {med:6.3f} s  {spread}  {med / base:5.1f}x baseline")
    help_s = statistics.median(times["rag --help"])
    verdict = "under" if help_s < GOAL_S else "OVER"
    above = help_s - base
    print(f"rag --help: {help_s:.3f} s, {verdict} the {GOAL_S:.0f} s goal ({above:.3f} s above a bare interpreter)")


if __name__ == "__main__":
    main()
