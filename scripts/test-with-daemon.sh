#!/usr/bin/env bash
# Runs every test: generator checks, unit tests, and the daemon tests against a dockerd this
# script starts (or one you point it at with DOCKER_TEST_HOST=unix:///path).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v dockerd >/dev/null || need+=(docker.io)
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

started_pid=""
work=""
cleanup() {
  if [ -n "$started_pid" ]; then
    kill "$started_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$started_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  [ -n "$work" ] && rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

if [ -z "${DOCKER_TEST_HOST:-}" ]; then
  if pgrep -x dockerd >/dev/null; then
    echo "a dockerd this script did not start is running (pid $(pgrep -x dockerd | tr '\n' ' '));" >&2
    echo "starting a second one would break its network; point the tests at it with DOCKER_TEST_HOST=unix:///path/to/socket" >&2
    exit 1
  fi
  work=$(mktemp -d /tmp/docker-test.XXXXXX)
  socket="$work/docker.sock"
  dockerd --data-root "$work/data" --exec-root "$work/exec" --pidfile "$work/dockerd.pid" \
    --host "unix://$socket" >"$work/dockerd.log" 2>&1 &
  started_pid=$!
  for _ in $(seq 1 120); do
    if curl -sf --unix-socket "$socket" http://docker/_ping >/dev/null 2>&1; then break; fi
    if ! kill -0 "$started_pid" 2>/dev/null; then
      echo "dockerd exited; its log:" >&2; cat "$work/dockerd.log" >&2; exit 1
    fi
    sleep 0.5
  done
  curl -sf --unix-socket "$socket" http://docker/_ping >/dev/null || { echo "dockerd did not answer" >&2; tail -50 "$work/dockerd.log" >&2; exit 1; }
  export DOCKER_TEST_HOST="unix://$socket"
  echo "dockerd $(curl -s --unix-socket "$socket" http://docker/version | sed 's/.*"ApiVersion":"\([^"]*\)".*/API \1/') on $socket"
fi
export DOCKER_TEST_BUSYBOX="${DOCKER_TEST_BUSYBOX:-$(command -v busybox)}"

cargo xtask check
cargo test --workspace --no-fail-fast
