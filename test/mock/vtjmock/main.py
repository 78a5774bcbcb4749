"""Command line: build the world, serve until SIGTERM/SIGINT.

The first line on stdout is the port number, printed only once the server
accepts connections; everything else goes to stderr."""
import argparse
import datetime
import os
import signal
import sys
import threading
import time

from .auth import Auth
from .control import Control
from .faults import FaultBoard
from .history import ORDERS
from .httpserver import HTTPServer
from .reqlog import RequestLog
from .routes import App
from .store import Config, World


def parse_args(argv):
    p = argparse.ArgumentParser(prog="vtj-mock", description=(
        "Mock of DVV's VTJ-muutosrajapinta (REST) and VTJkysely (SOAP) with a synthetic "
        "population of test hetus. Prints the port as the first line of stdout."))
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = any free port)")
    p.add_argument("--persons", type=int, default=10000, help="population size")
    p.add_argument("--seed", type=int, default=1, help="random seed (data are deterministic)")
    p.add_argument("--password", default="demo", help="password of accounts mutpT1 and mutpT1x")
    p.add_argument("--days", type=int, default=400, help="length of the simulated history")
    p.add_argument("--history-end", default="2026-11-01",
                   help="last day of the history is the day before this date (YYYY-MM-DD)")
    p.add_argument("--start-days", type=float, default=0.0,
                   help="start the present this many days into the history")
    p.add_argument("--change-rate", type=float, default=0.035,
                   help="share of persons with a change per month (volume of the history)")
    p.add_argument("--order", choices=ORDERS, default="mixed",
                   help="order of the records inside a change: mixed (a choice per change), "
                        "closing-first (closing record, PASSIIVI, LISATIETO first) or new-first "
                        "(new record, AKTIIVI first, LISATIETO last)")
    p.add_argument("--turvakielto-share", type=float, default=0.01,
                   help="share of persons with an active turvakielto at history start")
    p.add_argument("--withhold-days", type=int, default=0,
                   help="mutpT1x keeps withholding /perustiedot this many days after turvaLoppuPv has passed")
    p.add_argument("--page-size", type=int, default=500, help="change records per /muutokset page")
    p.add_argument("--latency-ms", type=float, default=0, help="added latency per service request")
    p.add_argument("--require-xroad-client", action="store_true",
                   help="answer 400 (X-Road fault) when X-Road-Client is missing")
    p.add_argument("--tls", action="store_true", help="serve HTTPS (certificates made with openssl)")
    p.add_argument("--tls-dir", default=None, help="where the certificates are made/reused")
    p.add_argument("--require-client-cert", action="store_true",
                   help="with --tls: require a client certificate signed by the mock's CA")
    p.add_argument("--cache-mb", type=float, default=1536,
                   help="ignored (kept for compatibility: every record is pre-rendered)")
    p.add_argument("--workers", type=int, default=0,
                   help="processes that render the records at start-up (0 = auto = 2)")
    p.add_argument("--compress-records", choices=("auto", "on", "off"), default="auto",
                   help="keep the pre-rendered records deflated in memory and inflate them when "
                        "served (auto: from 2,000,000 persons)")
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    a = p.parse_args(argv)
    if a.persons < 1 or a.days < 1 or a.page_size < 1:
        p.error("--persons, --days and --page-size must be positive")
    try:
        a.history_end = datetime.date.fromisoformat(a.history_end)
    except ValueError:
        p.error("--history-end must be YYYY-MM-DD")
    if a.require_client_cert and not a.tls:
        p.error("--require-client-cert needs --tls")
    return a


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    t0 = time.time()

    def log(msg):
        if not a.quiet:
            sys.stderr.write("vtj-mock: %s\n" % msg)
            sys.stderr.flush()

    ssl_ctx = None
    tls_dir = None
    if a.tls:
        from . import tls
        try:
            tls_dir = tls.ensure_certs(a.tls_dir)
            ssl_ctx = tls.server_context(tls_dir, a.require_client_cert)
        except tls.TLSUnavailable as e:
            sys.stderr.write("vtj-mock: %s\n" % e)
            return 2
        sys.stderr.write("vtj-mock: TLS certificates in %s\n" % tls_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    cfg = Config(persons=a.persons, seed=a.seed, days=a.days, history_end=a.history_end,
                 change_rate=a.change_rate, order=a.order, turvakielto_share=a.turvakielto_share,
                 withhold_days=a.withhold_days,
                 start_days=a.start_days, page_size=a.page_size, latency_ms=a.latency_ms,
                 cache_mb=a.cache_mb, workers=a.workers, compress=a.compress_records)
    world = World(cfg, log=log)
    world.tls_dir = tls_dir
    faults = FaultBoard()
    reqlog = RequestLog()
    app = App(world, Auth(a.password), faults, reqlog, Control(world, faults, reqlog),
              require_xroad_client=a.require_xroad_client, log=log)
    try:
        server = HTTPServer("127.0.0.1", a.port, app, ssl_ctx, log=log)
    except OSError as e:
        sys.stderr.write("vtj-mock: cannot listen on 127.0.0.1:%d: %s\n" % (a.port, e))
        return 2
    server.start()
    sys.stdout.write("%d\n" % server.port)
    sys.stdout.flush()
    log("ready on %s://127.0.0.1:%d after %.1fs (%d persons, %d changes)" % (
        "https" if ssl_ctx else "http", server.port, time.time() - t0, a.persons,
        len(world.hist.ev_ms)))
    while not stop.wait(0.5):
        pass
    log("stopping")
    server.stop()
    sys.stdout.flush()
    sys.stderr.flush()
    # skip interpreter teardown of millions of objects: nothing left to save
    os._exit(0)
