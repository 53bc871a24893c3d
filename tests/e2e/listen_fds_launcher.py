#!/usr/bin/env python3
"""Passes listening sockets the way systemd does, then execs a program.

    listen_fds_launcher.py NAME=FD [NAME=FD ...] -- PROGRAM ARGS...

Each FD (inherited from the caller through pass_fds) is moved to 3, 4, ... in order;
LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (this process's pid, which exec keeps) are set as
sd_listen_fds(3) expects them. The launcher is the "systemd" of tests/e2e/test_socket_activation.py.
"""
import os
import sys


def main():
    sep = sys.argv.index("--")
    pairs = [arg.split("=", 1) for arg in sys.argv[1:sep]]
    program = sys.argv[sep + 1:]
    fds = [int(fd) for _, fd in pairs]
    # Park every descriptor above the target range first, so a dup2 never overwrites a source.
    parked = []
    for i, fd in enumerate(fds):
        parked.append(os.dup2(fd, 100 + i))
    for fd in fds:
        os.close(fd)
    for i, fd in enumerate(parked):
        os.dup2(fd, 3 + i, inheritable=True)
        os.close(fd)
    os.environ["LISTEN_FDS"] = str(len(fds))
    os.environ["LISTEN_FDNAMES"] = ":".join(name for name, _ in pairs)
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.execv(program[0], program)


if __name__ == "__main__":
    main()
