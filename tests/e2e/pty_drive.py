#!/usr/bin/env python3
"""Drive a command through a pseudo-terminal, as a person at a terminal would.

usage: pty_drive.py CWD EXPECT1 SEND1 [EXPECT2 SEND2 ...] -- COMMAND ARGS...

For each pair, wait (10 s at most) until EXPECT appears in the terminal output
since the previous answer, then type SEND followed by Enter. Prints the whole
transcript on stdout and exits with the command's exit code (or 124 on a timeout).
"""
import os
import pty
import select
import subprocess
import sys
import time


def main() -> int:
    args = sys.argv[1:]
    sep = args.index("--")
    cwd, pairs, command = args[0], args[1:sep], args[sep + 1:]
    master, slave = pty.openpty()
    child = subprocess.Popen(command, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    transcript = b""
    seen = 0

    def read(timeout: float) -> bool:
        nonlocal transcript
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(master, 4096)
        except OSError:
            return False
        transcript += data
        return bool(data)

    for expect, send in zip(pairs[0::2], pairs[1::2]):
        deadline = time.time() + 10
        while expect.encode() not in transcript[seen:]:
            if time.time() > deadline or (not read(0.2) and child.poll() is not None):
                sys.stdout.write(transcript.decode(errors="replace"))
                sys.stdout.write(f"\n[pty_drive] timed out waiting for {expect!r}\n")
                child.kill()
                return 124
        seen = len(transcript)
        os.write(master, send.encode() + b"\r")
    deadline = time.time() + 30
    while child.poll() is None and time.time() < deadline:
        read(0.2)
    while read(0.1):
        pass
    if child.poll() is None:
        child.kill()
        return 124
    sys.stdout.write(transcript.decode(errors="replace"))
    return child.returncode


if __name__ == "__main__":
    sys.exit(main())
