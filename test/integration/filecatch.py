"""Catches the files PostgreSQL writes and deletes again — sort and hash spills (base/pgsql_tmp)
and the files of temporary tables (base/<db>/t…) — so that a test can search them afterwards.

With inotify (Linux), each file is hard-linked into a directory of ours the moment it is
created: the link keeps the file's data after PostgreSQL unlinks it, and everything written to it
later lands in the same inode. The tests run as root, which may link files of postgres.

A file that PostgreSQL creates and deletes before the link is made would be missed. So that none
is, each watched directory is made append-only (chattr +a, root on ext4 and most local file
systems: entries may be created, not removed): PostgreSQL's unlink of a temporary file fails
(it logs "could not delete file" and goes on), and the file stays until release() lets go and
removes what was caught. Where chattr is refused, the catcher still works, and `missed` counts
what it could not link."""
import shutil
import subprocess
import ctypes
import os
import struct
import threading

IN_CREATE = 0x00000100
IN_MOVED_TO = 0x00000080
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0x00000800
_EVENT = struct.Struct("iIII")


class FileCatcher:
    def __init__(self, dirs, into, accept=lambda name: True):
        self.libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self.fd = self.libc.inotify_init1(IN_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.into = into
        self.accept = accept
        self.watches = {}
        os.makedirs(into, exist_ok=True)
        for d in dirs:
            self._watch(d)
        self.caught = []
        self.sources = set()   # the paths caught (and fileset directories watched)
        self.missed = 0
        self.missed_names = []
        self.kept = []              # the directories made append-only
        for d in dirs:
            self._keep(d)
        self.stop_ = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _watch(self, d):
        wd = self.libc.inotify_add_watch(self.fd, d.encode(), IN_CREATE | IN_MOVED_TO)
        if wd < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch " + d)
        self.watches[wd] = d

    def _keep(self, d):
        if subprocess.run(["chattr", "+a", d], capture_output=True).returncode == 0:
            self.kept.append(d)

    def release(self):
        """Lets PostgreSQL delete again, and deletes the files it could not (those caught)."""
        for d in self.kept:
            subprocess.run(["chattr", "-a", d], capture_output=True)
        kept = set(self.kept)
        for f in self.sources:
            if os.path.dirname(f) in kept and os.path.lexists(f):
                try:
                    if os.path.isdir(f):
                        shutil.rmtree(f, ignore_errors=True)
                    else:
                        os.unlink(f)
                except OSError:
                    pass
        self.kept = []

    def _catch(self, src, name):
        if src in self.sources:
            # a name made again (a backend's pid reused) while the first file is kept: PostgreSQL
            # truncates it, so the first file's bytes may be lost: counted as missed
            self.missed += 1
            self.missed_names.append(name)
        dst = os.path.join(self.into, "%d_%s" % (len(self.caught) + self.missed, name))
        try:
            os.link(src, dst)
            self.caught.append(dst)
            self.sources.add(src)
        except OSError:
            self.missed += 1    # gone before we got to it
            self.missed_names.append(name)

    def _run(self):
        import select
        while not self.stop_.is_set():
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if not r:
                continue
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            i = 0
            while i + _EVENT.size <= len(buf):
                wd, mask, _cookie, length = _EVENT.unpack_from(buf, i)
                name = buf[i + _EVENT.size:i + _EVENT.size + length].rstrip(b"\0").decode()
                i += _EVENT.size + length
                if not name or wd not in self.watches:
                    continue
                src = os.path.join(self.watches[wd], name)
                if mask & IN_ISDIR:
                    # a shared fileset of a parallel sort or hash: its files are one level down;
                    # watch it, and take what was made before the watch was in place
                    if self.accept(name) or self.watches[wd].endswith(".fileset"):
                        try:
                            self._keep(src)
                            self._watch(src)
                            self.sources.add(src)
                            for f in os.listdir(src):
                                self._catch(os.path.join(src, f), f)
                        except OSError:
                            self.missed += 1
                    continue
                if self.accept(name) or ".fileset" in self.watches[wd]:
                    self._catch(src, name)

    def mark(self):
        """The number of files caught so far, once the events of what is already made are read:
        the files caught from here on have a higher index."""
        import time
        time.sleep(0.5)
        return len(self.caught)

    def stop(self):
        if self.stop_.is_set():
            return
        self.stop_.set()
        self.thread.join(5)
        os.close(self.fd)

    def search(self, needles):
        """{needle: [files]} of the caught files that contain it (bytes, UTF-8)."""
        found = {}
        for f in self.caught:
            try:
                data = open(f, "rb").read()
            except OSError:
                continue
            for n in needles:
                if n.encode() in data:
                    found.setdefault(n, []).append(os.path.basename(f))
        return found

    def total_bytes(self):
        return sum(os.path.getsize(f) for f in self.caught if os.path.exists(f))
