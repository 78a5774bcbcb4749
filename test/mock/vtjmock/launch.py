#!/usr/bin/env python3
"""Starting and stopping a vtj-mock process: the one place that knows how.

Every caller goes through here: the mock's own tests (tests/mockproc.py), the integration
scripts (mirrorlib.OwnMock, 25_tls, 40_kysely), the benchmarks (test/bench/benchlib.py) and,
through the command line below, test/lib.sh's vtj_start_mock and vtj_stop_mock.

How the mock says it is ready (vtjmock/main.py): it prints its port as the first line of stdout
once it accepts connections, and nothing else there; everything else goes to stderr. Its stdout
is a file rather than a pipe, so that a mock may outlive the process that waited for it (the
shell's launch.py wait) without a broken pipe, and the wait for the line is the same for both.

Command line (for test/lib.sh; the mock stays the shell's child, so that the shell can wait):
  launch.py exec PORTFILE [MOCK FLAG...]   becomes the mock (exec, same pid) on a free port, its
                                          stdout into PORTFILE; run it in the background (&)
  launch.py wait PORTFILE PID [TIMEOUT]   prints the port once mock PID has written it (exit 1
                                          if it exits first or TIMEOUT seconds, 120, pass)
  launch.py stop PID                      SIGTERM, then SIGKILL if it is still there after 20 s;
                                          only when PID is a mock (a kept demo's pid may be reused)

This file imports nothing of vtjmock, so that it also runs as a plain script."""
import os
import signal
import subprocess
import sys
import tempfile
import time

MOCK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VTJ_MOCK = os.path.join(MOCK_DIR, "vtj-mock")
POLL_S = 0.05
STOP_TIMEOUT_S = 20


def command(flags):
    """The mock's command line on a free port (port 0: the mock picks one and announces it)."""
    python = os.environ.get("VTJ_PYTHON", "/usr/bin/python3")
    return [python, VTJ_MOCK, "--port", "0"] + [str(f) for f in flags]


def read_port(fd, running, timeout):
    """The port the mock wrote as the first line into file descriptor fd, waiting while
    running() is true, at most timeout seconds; None when it exited or the time passed."""
    deadline = time.monotonic() + timeout
    while True:
        stopped = not running()   # asked before the read: a line written just before the exit counts
        # pread at offset 0: the file's offset is the mock's (it writes through the same open file)
        head = os.pread(fd, 64, 0)
        if b"\n" in head:
            line = head.split(b"\n", 1)[0].strip()
            return int(line) if line.isdigit() else None
        if stopped or time.monotonic() > deadline:
            return None
        time.sleep(POLL_S)


def alive(pid):
    """pid runs (a zombie does not: an orphan's PID 1 may never reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def is_mock(pid):
    """pid is a running mock, and not another process that has taken the number since."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"vtj-mock" in f.read() and alive(pid)
    except OSError:
        return False


def stop_pid(pid, timeout=STOP_TIMEOUT_S):
    """Stops the mock pid that is not necessarily our child: SIGTERM (it exits 0), SIGKILL if it
    is still running after timeout seconds. Returns when it is gone."""
    for sig, wait_s in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
        if not is_mock(pid):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while is_mock(pid) and time.monotonic() < deadline:
            time.sleep(POLL_S)


class MockProcess:
    """A mock on a free port, a child of this process: ready when the constructor returns
    (RuntimeError with the end of its stderr otherwise). port, root (http://127.0.0.1:PORT),
    url (the change interface, /api/v1), pid, proc (the Popen); stderr() is what it said there;
    stop() ends it. flags are the mock's own (test/mock/vtj-mock --help)."""

    def __init__(self, *flags, timeout=180, ready=True):
        self._out = tempfile.TemporaryFile()
        self._err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(command(flags), stdout=self._out, stderr=self._err)
        self.pid = self.proc.pid
        self.port = self.root = self.url = None
        if ready:
            self.wait_ready(timeout)

    def wait_ready(self, timeout=180):
        """Waits for the port line (for a caller that watches the start-up itself)."""
        port = read_port(self._out.fileno(), lambda: self.proc.poll() is None, timeout)
        if port is None:
            why = "no port line in %s s" % timeout if self.proc.poll() is None else "exit %d" % self.proc.returncode
            self.proc.kill()   # not stop(): SIGTERM would wait for the start-up to finish
            self.proc.wait()
            raise RuntimeError("the mock did not start (%s): %s" % (why, self.stderr()[-2000:]))
        self.port = port
        self.root = "http://127.0.0.1:%d" % port
        self.url = self.root + "/api/v1"
        return port

    def stderr(self):
        return os.pread(self._err.fileno(), 1 << 24, 0).decode(errors="replace")

    def stop(self, timeout=STOP_TIMEOUT_S):
        """SIGTERM, SIGKILL after timeout seconds; returns the exit code (None when killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def main(argv):
    usage = "usage: launch.py exec PORTFILE [FLAG...] | wait PORTFILE PID [TIMEOUT] | stop PID"
    if len(argv) >= 2 and argv[0] == "exec":
        fd = os.open(argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.close(fd)
        cmd = command(argv[2:])
        os.execv(cmd[0], cmd)
    if len(argv) in (3, 4) and argv[0] == "wait":
        pid = int(argv[2])
        with open(argv[1], "rb") as f:
            # alive, not is_mock: until the background shell has exec'd, PID is launch.py itself
            port = read_port(f.fileno(), lambda: alive(pid), float(argv[3]) if len(argv) == 4 else 120)
        if port is None:
            return 1
        print(port)
        return 0
    if len(argv) == 2 and argv[0] == "stop":
        stop_pid(int(argv[1]))
        return 0
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
