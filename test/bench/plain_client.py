#!/usr/bin/env python3
"""The floor for scans: how fast the mock serves /perustiedot to a plain HTTP client (one
keep-alive connection per worker, 1000 hetus per request), measured in the same run as the
foreign-table scan. Also warms the mock's per-person cache so that the scan that follows is
not limited by the mock building records on first use.

usage: plain_client.py HETU_FILE ACCOUNT PASSWORD [WORKERS]   (prints JSON)"""
import base64
import http.client
import json
import os
import sys
import threading
import time
from urllib.parse import urlparse


def main():
    hetus = [h.strip() for h in open(sys.argv[1]) if h.strip()]
    account, password = sys.argv[2], sys.argv[3]
    workers = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    url = urlparse(os.environ["VTJ_MOCK_URL"])
    auth = "Basic " + base64.b64encode(f"{account}:{password}".encode()).decode()
    batches = [hetus[i:i + 1000] for i in range(0, len(hetus), 1000)]
    totals = {"bytes": 0, "persons": 0, "groups": 0}
    lock = threading.Lock()
    cursor = [0]

    def work():
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        while True:
            with lock:
                if cursor[0] >= len(batches):
                    break
                batch = batches[cursor[0]]
                cursor[0] += 1
            body = json.dumps({"hetulista": batch})
            conn.request("POST", url.path + "/perustiedot", body,
                         {"Authorization": auth, "Content-Type": "application/json"})
            data = conn.getresponse().read()
            with lock:
                totals["bytes"] += len(data)
        conn.close()

    t = time.monotonic()
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    dt = time.monotonic() - t
    json.dump({"seconds": dt, "bytes": totals["bytes"], "mb_per_s": totals["bytes"] / dt / 1e6,
               "persons_per_s": len(hetus) / dt}, sys.stdout)


if __name__ == "__main__":
    main()
