"""ProcessTrees: a server's memory counts its descendants, found again when what it serves changes or one ends."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

from venom_mcp.adapters.system import ProcessTrees

# A parent that starts one more child (holding ~40 MB) each time a line comes on its stdin, and prints its pid.
PARENT = """
import subprocess, sys
children = []
for line in sys.stdin:
    children.append(subprocess.Popen([sys.executable, "-c", "x = bytearray(40 * 2**20); import sys; sys.stdin.read()"],
                                     stdin=subprocess.PIPE))
    print(children[-1].pid, flush=True)
for child in children:
    child.stdin.close()
    child.wait()
"""


@contextmanager
def parent() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()


def spawn_child(proc: subprocess.Popen[str]) -> int:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    pid = int(proc.stdout.readline())
    child = psutil.Process(pid)
    while child.memory_info().rss < 40 * 2**20:  # until its buffer is resident (a poll, not a timed wait)
        time.sleep(0.01)
    return pid


def test_tree_memory_follows_children_by_hint_and_end() -> None:
    trees = ProcessTrees()
    with parent() as proc:
        alone = trees.measure(proc.pid, hint=())
        assert alone is not None and alone[1] >= 0
        first = spawn_child(proc)
        # Same hint, looked at just now: the new child is not looked for yet (that read is what the cache saves).
        same = trees.measure(proc.pid, hint=())
        assert same is not None and same[0] < alone[0] + 30
        # What the server serves changed: its descendants are found again, the child's 40 MB with them.
        one = trees.measure(proc.pid, hint=("model-a",))
        assert one is not None and one[0] > alone[0] + 35
        # A known child ends: the next reading counts it no more.
        gone = psutil.Process(first)
        gone.kill()
        while gone.is_running() and gone.status() != psutil.STATUS_ZOMBIE:  # its parent reaps it later
            time.sleep(0.01)
        after = trees.measure(proc.pid, hint=("model-a",))
        assert after is not None and after[0] < one[0] - 30


def test_tree_is_looked_for_again_after_rescan_seconds() -> None:
    trees = ProcessTrees()
    trees.RESCAN_SECONDS = 0.0  # every reading looks again
    with parent() as proc:
        alone = trees.measure(proc.pid)
        spawn_child(proc)
        grown = trees.measure(proc.pid)
        assert alone is not None and grown is not None and grown[0] > alone[0] + 35


def test_a_gone_process_measures_none() -> None:
    trees = ProcessTrees()
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    assert trees.measure(proc.pid) is None
