# Shared shell functions of test/run, test/demo and the benchmarks.
# Source it; it defines functions only. Everything runs as root on a Debian 12 machine, and
# PostgreSQL itself runs as the unprivileged `postgres` user.

export VTJ_ROOT=${VTJ_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
VTJ_PG_BIN=${VTJ_PG_BIN:-/usr/lib/postgresql/15/bin}
# The PostgreSQL that is built against and installed into: the one of VTJ_PG_BIN (a copy of the
# installation elsewhere keeps a second checkout's build from replacing this one's).
export PG_CONFIG=${PG_CONFIG:-$VTJ_PG_BIN/pg_config}
VTJ_PYTHON=${VTJ_PYTHON:-/usr/bin/python3}
# The mock's password in tests: distinctive, so that a leak into a log or an error is found by grep.
export VTJ_MOCK_PASSWORD=${VTJ_MOCK_PASSWORD:-vtj-mock-Salasana-7f3e}

# apt packages the project needs to build, test, demo and benchmark; the second line is for
# the Debian package (make deb, make lintian, test/run's package stage).
VTJ_APT_PACKAGES=(make g++ cmake pkg-config python3 openssl curl procps
  build-essential debhelper dpkg-dev fakeroot postgresql-server-dev-all lintian git
  postgresql-15 postgresql-server-dev-15 postgresql-15-cron
  libcurl4-openssl-dev libxml2-dev libsimdjson-dev libgtest-dev
  clang-14 libclang-rt-14-dev llvm-14)
# clang-14 with libclang-rt-14-dev (libFuzzer and clang's sanitizer runtimes) builds test/fuzz;
# llvm-14 brings llvm-symbolizer, which turns sanitizer reports' addresses into file:line. The
# sanitize stage uses g++'s own ASan/UBSan (libasan8, libubsan1 come with g++).

vtj_log() { printf '== %s\n' "$*" >&2; }

# The build is installed into the PostgreSQL of PG_CONFIG and run on that of VTJ_PG_BIN: one and
# the same, or the tests would run another installation's vtj_fdw. Fails, naming both, otherwise.
vtj_check_pg() {
  local bindir
  bindir=$("$PG_CONFIG" --bindir 2>/dev/null) || { echo "PG_CONFIG=$PG_CONFIG does not run" >&2; return 1; }
  if [ "$(cd "$bindir" 2>/dev/null && pwd -P)" != "$(cd "$VTJ_PG_BIN" 2>/dev/null && pwd -P)" ]; then
    echo "PG_CONFIG=$PG_CONFIG belongs to $bindir, not to VTJ_PG_BIN=$VTJ_PG_BIN: set VTJ_PG_BIN only" >&2
    return 1
  fi
}

# Installs the apt packages that are missing (apt-get update only when something is missing).
vtj_install_deps() {
  local missing=()
  for p in "${VTJ_APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    vtj_log "installing: ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
      echo "missing packages (${missing[*]}) and not root: install them or run as root" >&2
      return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || return 1
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || return 1
  fi
}

# A free TCP port on the loopback interface.
vtj_free_port() {
  "$VTJ_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A private copy of the system's PostgreSQL 15 installation under DIR, with the same relative
# layout (DIR/usr/lib/postgresql/15, DIR/usr/share/postgresql/15, DIR/usr/include -> /usr/include):
# PostgreSQL finds its lib and share directories relative to its binary, so the copy's
# bin/pg_config names the copy and `make install` against it leaves the system's untouched.
# Prints the copy's bin directory (a VTJ_PG_BIN).
vtj_pg_copy() {
  local d=$1
  mkdir -p "$d/usr/lib/postgresql" "$d/usr/share/postgresql" || return 1
  cp -a /usr/lib/postgresql/15 "$d/usr/lib/postgresql/" || return 1
  cp -a /usr/share/postgresql/15 "$d/usr/share/postgresql/" || return 1
  ln -sfn /usr/include "$d/usr/include" || return 1
  echo "$d/usr/lib/postgresql/15/bin"
}

# Creates and starts a throwaway cluster owned by `postgres` in a new temporary directory.
# Sets VTJ_CLUSTER_DIR, PGHOST, PGPORT, PGUSER, PGDATABASE (exported). Extra postgresql.conf
# lines may be passed as arguments. VTJ_SERVER_ENV (an array of NAME=VALUE) is the server's
# extra environment, e.g. LD_PRELOAD of a sanitizer runtime; only the server gets it.
vtj_start_cluster() {
  VTJ_CLUSTER_DIR=$(mktemp -d /tmp/vtj_cluster.XXXXXX)
  chown postgres:postgres "$VTJ_CLUSTER_DIR"
  chmod 700 "$VTJ_CLUSTER_DIR"
  local port
  port=$(vtj_free_port)
  runuser -u postgres -- "$VTJ_PG_BIN/initdb" -D "$VTJ_CLUSTER_DIR/data" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$VTJ_CLUSTER_DIR/initdb.log" 2>&1 || { cat "$VTJ_CLUSTER_DIR/initdb.log"; return 1; }
  {
    echo "port = $port"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$VTJ_CLUSTER_DIR'"
    echo "shared_preload_libraries = 'pg_cron'"
    echo "cron.database_name = 'postgres'"
    # pg_cron connects to run a job; with no TCP listener it must use the socket directory
    echo "cron.host = '$VTJ_CLUSTER_DIR'"
    echo "max_connections = 40"
    echo "shared_buffers = 256MB"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
    echo "log_min_messages = warning"
    echo "log_line_prefix = '%m [%p] %u@%d '"
    for line in "$@"; do echo "$line"; done
  } >>"$VTJ_CLUSTER_DIR/data/postgresql.conf"
  runuser -u postgres -- env ${VTJ_SERVER_ENV[@]+"${VTJ_SERVER_ENV[@]}"} \
    "$VTJ_PG_BIN/pg_ctl" -D "$VTJ_CLUSTER_DIR/data" -l "$VTJ_CLUSTER_DIR/server.log" -w -t 60 start >/dev/null ||
    { cat "$VTJ_CLUSTER_DIR/server.log"; return 1; }
  export PGHOST="$VTJ_CLUSTER_DIR" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
}

vtj_stop_cluster() {
  [ -n "${VTJ_CLUSTER_DIR:-}" ] && [ -d "$VTJ_CLUSTER_DIR/data" ] || return 0
  runuser -u postgres -- "$VTJ_PG_BIN/pg_ctl" -D "$VTJ_CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$VTJ_CLUSTER_DIR"
  VTJ_CLUSTER_DIR=
}

# Starts the mock on a free port: vtj_start_mock [extra flags]. Sets VTJ_MOCK_PID, VTJ_MOCK_PORT,
# VTJ_MOCK_ROOT (http://127.0.0.1:PORT) and VTJ_MOCK_URL (the change interface base, /api/v1);
# VTJ_MOCK_LOG is its stderr. How a mock is started, waited for and stopped is
# test/mock/vtjmock/launch.py's (the Python callers use it too); the mock is this shell's
# background child (launch.py execs it), so that vtj_stop_mock can wait for it.
VTJ_MOCK_LAUNCH=$VTJ_ROOT/test/mock/vtjmock/launch.py
vtj_start_mock() {
  local out
  out=$(mktemp /tmp/vtj_mock.XXXXXX)
  "$VTJ_PYTHON" "$VTJ_MOCK_LAUNCH" exec "$out" "$@" 2>"$out.err" &
  VTJ_MOCK_PID=$!
  VTJ_MOCK_PORT=$("$VTJ_PYTHON" "$VTJ_MOCK_LAUNCH" wait "$out" "$VTJ_MOCK_PID" 120) ||
    { cat "$out.err" >&2; vtj_stop_mock; return 1; }
  export VTJ_MOCK_PID VTJ_MOCK_PORT
  export VTJ_MOCK_ROOT="http://127.0.0.1:$VTJ_MOCK_PORT"
  export VTJ_MOCK_URL="$VTJ_MOCK_ROOT/api/v1"
  VTJ_MOCK_LOG="$out.err"
}

# Stops the mock of vtj_start_mock (or of a kept demo: VTJ_MOCK_PID from its state file).
vtj_stop_mock() {
  [ -n "${VTJ_MOCK_PID:-}" ] || return 0
  "$VTJ_PYTHON" "$VTJ_MOCK_LAUNCH" stop "$VTJ_MOCK_PID" || true
  wait "$VTJ_MOCK_PID" 2>/dev/null || true   # reaps it when it is this shell's child
  VTJ_MOCK_PID=
}

# psql as the cluster superuser with stable, script-friendly settings.
vtj_psql() { "$VTJ_PG_BIN/psql" -X -v ON_ERROR_STOP=1 -q "$@"; }
