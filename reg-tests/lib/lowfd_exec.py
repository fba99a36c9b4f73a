"""lowfd_exec.py N PROGRAM ARGS...: exec PROGRAM with at most N open files.

Sets RLIMIT_NOFILE soft = hard = N, and first drops CAP_SYS_RESOURCE from
the bounding set when it can, so that a root PROGRAM cannot raise the limit
back: the EMFILE test wants real fd exhaustion. A separate, single-threaded
process does this (not preexec_fn in the threaded test process).
"""
import ctypes
import os
import resource
import sys

PR_CAPBSET_DROP = 24
CAP_SYS_RESOURCE = 24


def main():
    limit = int(sys.argv[1])
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_CAPBSET_DROP, CAP_SYS_RESOURCE, 0, 0, 0)
    except OSError:
        pass  # without CAP_SETPCAP the limit may be raisable: so be it
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    os.execv(sys.argv[2], sys.argv[2:])


if __name__ == "__main__":
    main()
