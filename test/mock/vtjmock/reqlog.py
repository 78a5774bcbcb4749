"""Request log for tests: which endpoint was called with how many hetus,
the status, size, server time and any injected fault.  Control calls are
not logged."""
import threading
import time

MAX_ENTRIES = 200000


class RequestLog:
    def __init__(self):
        self._lock = threading.Lock()
        self._entries = []

    def add(self, **entry):
        entry.setdefault("time", time.time())
        with self._lock:
            self._entries.append(entry)
            if len(self._entries) > MAX_ENTRIES:
                del self._entries[: MAX_ENTRIES // 10]

    def entries(self):
        with self._lock:
            return list(self._entries)

    def clear(self):
        with self._lock:
            self._entries.clear()
