"""Runs the learner's lb.py with the GIL handed to another thread between any two of its lines,
so a read-modify-write split over lines (an unlocked rotation counter) races at once instead of
once in a blue moon. Only scheduling changes: a correct program stays correct."""

import os
import runpy
import sys
import threading
import time

TARGET = os.path.abspath(sys.argv[1])


def at_each_line(frame, event, arg):  # noqa: ANN001, ANN201 -- the sys.settrace protocol
    if event == "line":
        time.sleep(0)  # releases the GIL: whoever waits for it runs now
    return at_each_line


def in_target(frame, event, arg):  # noqa: ANN001, ANN201
    return at_each_line if frame.f_code.co_filename == TARGET else None


sys.setswitchinterval(1e-4)  # and the GIL comes back quickly once another thread has it
sys.argv = [TARGET, *sys.argv[2:]]
threading.settrace(in_target)
sys.settrace(in_target)
runpy.run_path(TARGET, run_name="__main__")
