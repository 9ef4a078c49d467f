#!/usr/bin/env bash
# Builds the OCI image (Containerfile), runs it against this machine's PostgreSQL and Redis, and
# checks what an operator relies on: migrations from the image, liveness, readiness, metrics
# behind their token, a JSON log line with the request id, a non-root user, no compiler, the
# stream processes run as compose.yaml runs them (their metrics in the app's), and a graceful
# stop that lets a request in flight finish. Prints PASS/FAIL per check; exits 1 on any.
#
# Where no container registry is reachable (this project's machines), the base is a plain
# Debian built here with debootstrap (python3 + python3-venv only) and imported into podman,
# once: later runs reuse it. Settings (environment):
#   BASE_IMAGE        the base to build on (default python:3.11-slim, else the local Debian one)
#   IMAGE             tag to build (default localhost/wallet-dashboard:check)
#   CHECK_PORT        port the app listens on, on the host network (default 8150)
#   STREAM_CHECK_PORT port the live wallet's stream processes listen on (default 8151)
#   PGHOST/PGPORT/PGUSER  the PostgreSQL server (default 127.0.0.1, 5432, postgres); a fresh
#                     database is created for the run and dropped at the end
#   REDIS_URL         default redis://127.0.0.1:6379/0
set -uo pipefail
cd "$(dirname "$0")/.."

IMAGE="${IMAGE:-localhost/wallet-dashboard:check}"
DEFAULT_BASE="python:3.11-slim"
LOCAL_BASE="localhost/dashboard-debian-base:bookworm"
CHECK_PORT="${CHECK_PORT:-8150}"
STREAM_CHECK_PORT="${STREAM_CHECK_PORT:-8151}"
PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
export PGHOST PGPORT PGUSER
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
# podman on these machines: the runc runtime, and limits given explicitly (the defaults it
# would copy from the host are refused here), no higher than this shell's own hard limits. The
# health check's timer needs systemd: the image's HEALTHCHECK command is run by hand instead.
nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
# RLIMIT_NPROC above a few thousand is refused here even under the hard limit; gunicorn's
# workers need far fewer.
nproc=4096
RUN=(podman --runtime runc run --network host --ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc"
     --no-healthcheck)

failures=0
pass() { echo "PASS  $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }
step() { echo "----  $*"; }

work="$(mktemp -d)"
container="" stream_container="" database=""
# The metric files' volume, shared by the app and the stream processes as in compose.yaml.
metrics_volume="dashboard-image-check-metrics-$$"
cleanup() {
  if [ -n "$container" ]; then podman rm -f "$container" >/dev/null 2>&1; fi
  if [ -n "$stream_container" ]; then podman rm -f "$stream_container" >/dev/null 2>&1; fi
  podman volume rm -f "$metrics_volume" >/dev/null 2>&1
  if [ -n "$database" ]; then psql -q -d postgres -c "DROP DATABASE IF EXISTS \"$database\"" >/dev/null 2>&1; fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- tools ---------------------------------------------------------------------------------
need=()
for tool in podman:podman runc:runc debootstrap:debootstrap newuidmap:uidmap fuse-overlayfs:fuse-overlayfs psql:postgresql-client; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    step "installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    fail "missing ${need[*]} (run as root to install them)"; exit 1
  fi
fi

# --- the base ------------------------------------------------------------------------------
base="${BASE_IMAGE:-}"
if [ -z "$base" ]; then
  if podman image exists "$DEFAULT_BASE" || timeout 30 podman pull -q "$DEFAULT_BASE" >/dev/null 2>&1; then
    base="$DEFAULT_BASE"
  else
    base="$LOCAL_BASE"
  fi
fi
if [ "$base" = "$LOCAL_BASE" ] && ! podman image exists "$LOCAL_BASE"; then
  step "no registry: building $LOCAL_BASE with debootstrap (Debian's python3 and python3-venv only)"
  started=$SECONDS
  root="$work/rootfs"
  if ! debootstrap --variant=minbase --include=python3,python3-venv bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1; then
    tail -20 "$work/debootstrap.log"; fail "debootstrap of the Debian base"; exit 1
  fi
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | podman import --change 'CMD ["/bin/bash"]' - "$LOCAL_BASE" >/dev/null || { fail "podman import of the base"; exit 1; }
  echo "      base built in $((SECONDS - started)) s"
fi

# --- the build -----------------------------------------------------------------------------
# The machine's CA bundle and a pip.conf naming it, mounted into the build's RUN steps only:
# on a machine whose egress intercepts TLS, pip trusts what the host trusts; nothing is copied
# into a layer (checked below).
build_mounts=()
ca_bundle="$(python3 -m pip config get global.cert 2>/dev/null || true)"
[ -n "$ca_bundle" ] || ca_bundle="${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}"
if [ -f "$ca_bundle" ]; then
  printf '[global]\ncert = /run/build-ca/ca-certificates.crt\ntimeout = 120\n' >"$work/pip.conf"
  build_mounts=(-v "$ca_bundle:/run/build-ca/ca-certificates.crt:ro" -v "$work/pip.conf:/etc/pip.conf:ro")
fi
step "building $IMAGE on $base"
started=$SECONDS
# docker format: OCI images have no HEALTHCHECK field.
if podman build --isolation chroot --format docker --network host "${build_mounts[@]}" \
     --build-arg BASE_IMAGE="$base" -t "$IMAGE" -f Containerfile . >"$work/build.log" 2>&1; then
  pass "image built on $base in $((SECONDS - started)) s"
else
  tail -30 "$work/build.log"; fail "image build"; exit 1
fi
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
echo "      image size: $((size / 1000000)) MB"

if "${RUN[@]}" --rm --entrypoint sh "$IMAGE" -c 'for c in gcc cc g++ make; do command -v $c && exit 1; done; test ! -s /etc/pip.conf && test ! -s /run/build-ca/ca-certificates.crt' >/dev/null 2>&1; then
  pass "no compiler in the image; the build-time pip.conf and CA bundle left no content (empty mount points at most)"
else
  fail "the image holds a compiler or the build's pip.conf/CA bundle"
fi
[ "$(podman image inspect --format '{{.Config.StopSignal}}' "$IMAGE")" = "SIGTERM" ] && pass "STOPSIGNAL SIGTERM" || fail "STOPSIGNAL"
podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE" | grep -q healthz && pass "HEALTHCHECK on /healthz" || fail "HEALTHCHECK"

# --- a database of its own -----------------------------------------------------------------
database="dashboard_image_check_$$_$RANDOM"
psql -q -d postgres -c "CREATE DATABASE \"$database\"" >/dev/null || { fail "create database $database"; exit 1; }
secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
fernet=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')
token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
envs=(-e DATABASE_URL="postgresql+psycopg://$PGUSER@$PGHOST:$PGPORT/$database" -e SECRET_KEY="$secret"
      -e API_KEY_ENCRYPTION_KEY="$fernet" -e RATELIMIT_STORAGE_URI="$REDIS_URL"
      -e RATELIMIT_KEY_PREFIX="image-check-$database" -e METRICS_TOKEN="$token" -e PORT="$CHECK_PORT"
      -e WEB_CONCURRENCY=2 -e GRACEFUL_TIMEOUT=20)

if "${RUN[@]}" --rm "${envs[@]}" "$IMAGE" flask --app dashboard db upgrade >"$work/migrate.log" 2>&1; then
  pass "flask --app dashboard db upgrade in the image"
else
  tail -20 "$work/migrate.log"; fail "db upgrade in the image"
fi

# --- serving -------------------------------------------------------------------------------
container=$("${RUN[@]}" -d "${envs[@]}" -v "$metrics_volume:/run/metrics" "$IMAGE") || { fail "container start"; exit 1; }
base_url="http://127.0.0.1:$CHECK_PORT"
up=0
for _ in $(seq 1 60); do
  if python3 - "$base_url/healthz" <<'EOF' 2>/dev/null; then up=1; break; fi
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
EOF
  sleep 0.5
done
[ "$up" = 1 ] && pass "/healthz 200" || { podman logs "$container" 2>&1 | tail -20; fail "/healthz never answered"; }

python3 - "$base_url" "$token" "$work" <<'EOF'
import json, sys, time, urllib.request, urllib.error
base, token, work = sys.argv[1:4]

def get(path, headers=None):
    request = urllib.request.Request(base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()

def report(ok, what):
    print(("PASS  " if ok else "FAIL  ") + what)
    if not ok:
        open(work + "/failed", "a").write(what + "\n")

for _ in range(50):  # each worker's change feed connects on first use
    status, headers, body = get("/readyz")
    if status == 200:
        break
    time.sleep(0.2)
checks = json.loads(body).get("checks", {})
report(status == 200 and set(checks) >= {"database", "redis", "catalogues", "change_feed"},
       f"/readyz {status}: {', '.join(sorted(checks))}")
status, headers, _ = get("/login")
report(status == 200, f"/login {status} (the catalogues and templates are in the wheel)")
status, _, _ = get("/metrics")
report(status == 403, f"/metrics without the token: {status}")
status, _, body = get("/metrics", {"Authorization": "Bearer " + token})
report(status == 200 and "dashboard_http_requests_total{" in body, f"/metrics with the token: {status}")
print("      " + "\n      ".join(line for line in body.splitlines() if line.startswith(("dashboard_http_requests_total", "dashboard_readiness_check")))[:1200])
status, headers, _ = get("/healthz")
open(work + "/request-id", "w").write(headers.get("X-Request-ID", ""))
EOF

sleep 0.5
request_id=$(cat "$work/request-id")
if podman logs "$container" 2>&1 | python3 -c '
import json, sys
wanted = sys.argv[1]
for line in sys.stdin:
    try:
        record = json.loads(line)
    except ValueError:
        continue
    if record.get("request_id") == wanted and record.get("route") == "/healthz" and record.get("status") == 200:
        sys.exit(0)
sys.exit(1)' "$request_id"; then
  pass "a JSON log line with the response's request id ($request_id)"
else
  fail "no JSON log line with request id $request_id"
fi
if podman image inspect --format '{{json .Config.Healthcheck.Test}}' "$IMAGE" | python3 -c '
import json, subprocess, sys
test = json.load(sys.stdin)
command = test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]
sys.exit(subprocess.run(["podman", "exec", sys.argv[1], *command], capture_output=True).returncode)' "$container"; then
  pass "the image's HEALTHCHECK passes (run with podman exec)"
else
  fail "the image's HEALTHCHECK"
fi
uid=$(podman exec "$container" id -u)
[ -n "$uid" ] && [ "$uid" != 0 ] && pass "runs as uid $uid (not root)" || fail "runs as root"

# --- the live wallet's stream processes, as compose.yaml runs them --------------------------
stream_container=$("${RUN[@]}" -d "${envs[@]}" -e PROMETHEUS_MULTIPROC_DIR=/run/metrics/streams \
  -v "$metrics_volume:/run/metrics" "$IMAGE" uvicorn --factory dashboard.stream:create_stream_app \
  --host 127.0.0.1 --port "$STREAM_CHECK_PORT" --workers 2 --no-access-log --timeout-graceful-shutdown 5) \
  || fail "stream container start"
if [ -n "$stream_container" ]; then
  python3 - "http://127.0.0.1:$STREAM_CHECK_PORT" "$base_url" "$token" "$work" <<'EOF'
import json, sys, time, urllib.request, urllib.error
streams, app, token, work = sys.argv[1:5]

def get(url, headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()
    except OSError:
        return None, {}, ""

def report(ok, what):
    print(("PASS  " if ok else "FAIL  ") + what)
    if not ok:
        open(work + "/failed", "a").write(what + "\n")

processes = set()
deadline = time.monotonic() + 60
while len(processes) < 2 and time.monotonic() < deadline:  # both workers up
    status, _, body = get(streams + "/stream/healthz")
    if status == 200:
        processes.add(json.loads(body)["process"])
    else:
        time.sleep(0.5)
report(len(processes) == 2, f"stream processes answer /stream/healthz: {len(processes)} of 2")
status, headers, body = get(streams + "/api/stream", {"Accept": "text/event-stream"})
report(status == 401 and headers.get("Content-Type", "").startswith("application/json"),
       f"/api/stream without a session: {status} {headers.get('Content-Type')}")
status, _, body = get(app + "/metrics", {"Authorization": "Bearer " + token})
refused = [line for line in body.splitlines() if line.startswith('dashboard_streams_refused_total{status="401"}')]
report(status == 200 and bool(refused) and float(refused[0].rsplit(" ", 1)[1]) >= 1,
       f"the app's /metrics adds up the stream processes' (streams/ of the shared volume): {refused}")
EOF
  podman stop -t 10 "$stream_container" >/dev/null
  stream_exit=$(podman inspect --format '{{.State.ExitCode}}' "$stream_container")
  if [ "$stream_exit" = 0 ]; then
    pass "stream processes stop on SIGTERM: exit code 0"
  else
    podman logs "$stream_container" 2>&1 | tail -10; fail "stream processes' stop (exit code $stream_exit)"
  fi
fi

# --- graceful stop: a request in flight when SIGTERM arrives still gets its answer ----------
# The request's body arrives in two parts, the second after the stop began: the worker is
# inside the app, reading it, when SIGTERM comes.
python3 - "$CHECK_PORT" "$container" "$work" <<'EOF'
import re, socket, subprocess, sys, time, urllib.parse, urllib.request
port, container, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
# A sign-in the app takes in whole (its session cookie and CSRF token from the form, so it is
# not refused at the door): a wrong password for an address with no account, answered 401 with
# the form again after the database and the throttle were asked.
with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as page:
    cookie = "; ".join(header.split(";", 1)[0] for header in page.headers.get_all("Set-Cookie") or [])
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.read().decode()).group(1)
body = urllib.parse.urlencode({"csrf_token": token, "email": "slow@example.com", "password": "not-the-password"}).encode()
with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
    conn.sendall(b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                 b"Connection: close\r\nCookie: %s\r\nContent-Length: %d\r\n\r\n" % (cookie.encode(), len(body)) + body[:10])
    time.sleep(1)
    stopping = subprocess.Popen(["podman", "stop", "-t", "25", container], stdout=subprocess.DEVNULL)
    time.sleep(2)
    conn.sendall(body[10:])
    answer = b""
    while chunk := conn.recv(65536):
        answer += chunk
    stopping.wait(60)
status_line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
ok = status_line.startswith("HTTP/1.1 401") and b'name="password"' in answer
print(("PASS  " if ok else "FAIL  ") + f"request in flight at SIGTERM answered in whole: {status_line!r} (a wrong password: the form again)")
if not ok:
    open(work + "/failed", "a").write("graceful\n")
EOF
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$container")
logs=$(podman logs "$container" 2>&1)
if [ "$exit_code" = 0 ] && grep -q "Handling signal: term" <<<"$logs" && grep -q "Shutting down: Master" <<<"$logs"; then
  pass "graceful stop: exit code 0, gunicorn logged the signal and its shutdown"
else
  echo "$logs" | tail -10; fail "graceful stop (exit code $exit_code)"
fi

# The checks made in Python above wrote their failures here.
[ -f "$work/failed" ] && failures=$((failures + $(grep -c . "$work/failed")))
echo
if [ "$failures" -gt 0 ]; then
  echo "image check: $failures failure(s)"; exit 1
fi
echo "image check: every check passed"
