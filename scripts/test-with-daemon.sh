#!/usr/bin/env bash
# Runs every test: formatting and clippy, generator checks, unit tests, and the daemon tests
# against a dockerd this script starts (or one you point it at with DOCKER_TEST_HOST=unix:///path).
# With arguments, runs `cargo test ARGS...` against the daemon instead of everything, e.g.
#   scripts/test-with-daemon.sh -p daemon-tests --test daemon transports::
# with `--run COMMAND...`, runs that command against it (the benchmark:
#   scripts/test-with-daemon.sh --run cargo run --release -p bench),
# and with `--record`, records the daemon tests' exchanges into tests/replays/, which a plain
# `cargo test` replays without a daemon.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then
  # The gates that need no daemon, first: formatting, and clippy on every target with warnings
  # as errors (a check build, which the tests' build below does not reuse).
  cargo fmt --all --check
  cargo clippy --workspace --all-targets --quiet -- -D warnings
fi

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v socat >/dev/null || need+=(socat)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need+=(busybox-static)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v ip >/dev/null || need+=(iproute2)
command -v nsenter >/dev/null || need+=(util-linux)
command -v podman >/dev/null || need+=(podman)
# The registry benchmark compares copies with skopeo's.
command -v skopeo >/dev/null || need+=(skopeo)
command -v ssh >/dev/null || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
# The BuildKit ssh test compiles a static probe for the agent (busybox has no Unix socket client).
command -v cc >/dev/null || need+=(gcc)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need+=(libc6-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

tcp_port=${DOCKER_TEST_TCP_PORT:-23750}
tls_port=${DOCKER_TEST_TLS_PORT:-23760}

# A CA, a server certificate for localhost and 127.0.0.1, a client certificate, and a second CA
# that signed nothing (for the wrong-CA test): the daemon's --tlsverify recipe.
make_certificates() {
  local dir=$1
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl genrsa -out ca-key.pem 2048 2>/dev/null
    openssl req -new -x509 -days 2 -key ca-key.pem -sha256 -subj "/CN=test CA" -out ca.pem
    openssl genrsa -out server-key.pem 2048 2>/dev/null
    openssl req -new -key server-key.pem -subj "/CN=localhost" -out server.csr
    printf 'subjectAltName = DNS:localhost,IP:127.0.0.1\nextendedKeyUsage = serverAuth\n' >server.ext
    openssl x509 -req -days 2 -sha256 -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
      -out server-cert.pem -extfile server.ext 2>/dev/null
    openssl genrsa -out key.pem 2048 2>/dev/null
    openssl req -new -key key.pem -subj "/CN=client" -out client.csr
    printf 'extendedKeyUsage = clientAuth\n' >client.ext
    openssl x509 -req -days 2 -sha256 -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
      -out cert.pem -extfile client.ext 2>/dev/null
    openssl genrsa -out other-ca-key.pem 2048 2>/dev/null
    openssl req -new -x509 -days 2 -key other-ca-key.pem -sha256 -subj "/CN=other CA" -out other-ca.pem
  )
}

# The reference registry (Registry HTTP API v2) on loopback, where the daemon speaks plain HTTP,
# with htpasswd basic authentication for a user made for the run.
start_registry() {
  local dir=$1 port=${DOCKER_TEST_REGISTRY_PORT:-5000}
  mkdir -p "$dir/storage"
  local user=tester password
  password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  htpasswd -Bbn "$user" "$password" >"$dir/htpasswd" 2>/dev/null
  registry_htpasswd="$dir/htpasswd"
  cat >"$dir/config.yml" <<CONFIG
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $dir/storage}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$port
auth:
  htpasswd: {realm: test-registry, path: $dir/htpasswd}
CONFIG
  serve_registry "$dir" "http://127.0.0.1:$port/v2/"
  export DOCKER_TEST_REGISTRY="127.0.0.1:$port"
  export DOCKER_TEST_REGISTRY_USER=$user
  export DOCKER_TEST_REGISTRY_PASSWORD=$password
  echo "docker-registry $(docker-registry --version | awk '{print $3}') on $DOCKER_TEST_REGISTRY"
}

# Runs docker-registry with $dir/config.yml until its base endpoint answers 401 at $url (it is
# up, and wants credentials); extra arguments go to curl.
serve_registry() {
  local dir=$1 url=$2
  shift 2
  docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  registry_pids+=($!)
  for _ in $(seq 1 60); do
    [ "$(curl -s "$@" -o /dev/null -w '%{http_code}' "$url")" = 401 ] && return 0
    kill -0 "${registry_pids[-1]}" 2>/dev/null || { echo "docker-registry exited; its log:" >&2; cat "$dir/registry.log" >&2; exit 1; }
    sleep 0.25
  done
  echo "docker-registry at $url did not answer; its log:" >&2
  cat "$dir/registry.log" >&2
  exit 1
}

# For the registry client's tests, two more registries on loopback: one over TLS (the run's
# server certificate) with the first one's htpasswd user, and one with token authentication,
# whose token service the tests run themselves on $token_port, signing with an ECDSA key made
# here (the registry trusts its certificate).
start_client_registries() {
  local dir=$1 certs=$2 tls_port=${DOCKER_TEST_TLS_REGISTRY_PORT:-5001}
  local token_port=${DOCKER_TEST_TOKEN_REGISTRY_PORT:-5002} service_port=${DOCKER_TEST_TOKEN_SERVICE_PORT:-5003}
  mkdir -p "$dir/tls/storage" "$dir/token/storage"
  cp "$registry_htpasswd" "$dir/tls/htpasswd"
  cat >"$dir/tls/config.yml" <<CONFIG
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $dir/tls/storage}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$tls_port
  tls: {certificate: $certs/server-cert.pem, key: $certs/server-key.pem}
auth:
  htpasswd: {realm: test-registry, path: $dir/tls/htpasswd}
CONFIG
  serve_registry "$dir/tls" "https://127.0.0.1:$tls_port/v2/" --cacert "$certs/ca.pem"
  (
    cd "$dir/token"
    openssl ecparam -name prime256v1 -genkey -noout -out key.pem 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in key.pem -outform DER -out key.der
    openssl req -new -x509 -days 2 -key key.pem -subj "/CN=test token service" -out cert.pem
    openssl x509 -in cert.pem -outform DER -out cert.der
  )
  cat >"$dir/token/config.yml" <<CONFIG
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $dir/token/storage}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$token_port
auth:
  token:
    realm: http://127.0.0.1:$service_port/token
    service: test-registry
    issuer: test-token-service
    rootcertbundle: $dir/token/cert.pem
CONFIG
  serve_registry "$dir/token" "http://127.0.0.1:$token_port/v2/"
  export DOCKER_TEST_TLS_REGISTRY="127.0.0.1:$tls_port"
  export DOCKER_TEST_TLS_REGISTRY_STORAGE="$dir/tls/storage"
  export DOCKER_TEST_REGISTRY_CA="$certs/ca.pem"
  export DOCKER_TEST_TOKEN_REGISTRY="127.0.0.1:$token_port"
  export DOCKER_TEST_TOKEN_REGISTRY_STORAGE="$dir/token/storage"
  export DOCKER_TEST_TOKEN_SERVICE_PORT=$service_port
  export DOCKER_TEST_TOKEN_KEY="$dir/token/key.der"
  export DOCKER_TEST_TOKEN_CERT="$dir/token/cert.der"
  echo "docker-registry over TLS on $DOCKER_TEST_TLS_REGISTRY, with token authentication on $DOCKER_TEST_TOKEN_REGISTRY"
}

# A second dockerd, for the swarm tests to join, in a network namespace of its own (two daemons
# in one namespace break each other's bridge), joined to this one by a veth pair: this side
# 10.231.0.1, the peer 10.231.0.2. Its Unix socket is reachable from here like any file.
peer_netns="dct-peer-$$"
start_peer() {
  local dir=$1
  mkdir -p "$dir"
  # Left by a run killed before its cleanup, the address would route the peer's traffic there.
  if ip -o -4 addr show | grep -q 'inet 10\.231\.0\.1/'; then
    echo "10.231.0.1 is already on an interface, left by an earlier run? $(ip -o -4 addr show | grep 'inet 10\.231\.0\.1/')" >&2
    echo "remove it (ip link del DEVICE, ip netns del dct-peer-PID) and run again" >&2
    exit 1
  fi
  ip netns add "$peer_netns"
  ip link add "dct-h$$" type veth peer name "dct-p$$"
  ip link set "dct-p$$" netns "$peer_netns"
  ip addr add 10.231.0.1/30 dev "dct-h$$"
  ip link set "dct-h$$" up
  ip -n "$peer_netns" addr add 10.231.0.2/30 dev "dct-p$$"
  ip -n "$peer_netns" link set "dct-p$$" up
  ip -n "$peer_netns" link set lo up
  # nsenter enters only the network namespace; `ip netns exec` would also remount /sys.
  nsenter --net="/run/netns/$peer_netns" dockerd --data-root "$dir/data" --exec-root "$dir/exec" \
    --pidfile "$dir/dockerd.pid" --host "unix://$dir/docker.sock" >"$dir/dockerd.log" 2>&1 &
  peer_pid=$!
  for _ in $(seq 1 120); do
    curl -sf --unix-socket "$dir/docker.sock" http://docker/_ping >/dev/null 2>&1 && break
    kill -0 "$peer_pid" 2>/dev/null || { echo "the peer dockerd exited; its log:" >&2; cat "$dir/dockerd.log" >&2; exit 1; }
    sleep 0.5
  done
  export DOCKER_TEST_PEER_HOST="unix://$dir/docker.sock"
  export DOCKER_TEST_PEER_ADDRESS=10.231.0.2
  export DOCKER_TEST_MANAGER_ADDRESS=10.231.0.1
  echo "peer dockerd on $dir/docker.sock, at 10.231.0.2 in network namespace $peer_netns"
}

# Podman's Docker-compatible service, in a network namespace of its own (so its bridge and
# firewall rules cannot touch dockerd's), with storage, networks and configuration made for the
# run: nothing of the machine's own container setup is read or written.
podman_netns="dct-podman-$$"
start_podman() {
  local dir=$1
  mkdir -p "$dir"
  ip netns add "$podman_netns"
  ip -n "$podman_netns" link set lo up
  # Root here lacks CAP_SYS_RESOURCE: containers get limits below the service's hard limits
  # rather than Podman's defaults above them ("error setting rlimit").
  cat >"$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
CONF
  cat >"$dir/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$dir/storage"
runroot = "$dir/run"
CONF
  cat >"$dir/registries.conf" <<CONF
unqualified-search-registries = []
[[registry]]
location = "$DOCKER_TEST_REGISTRY"
insecure = true
CONF
  # Podman reaches the test registry at the same address from inside its namespace: a forwarder
  # there connects through a Unix socket to one here.
  socat "UNIX-LISTEN:$dir/registry.sock,fork" "TCP:$DOCKER_TEST_REGISTRY" &
  podman_forwarders+=($!)
  nsenter --net="/run/netns/$podman_netns" \
    socat "TCP-LISTEN:${DOCKER_TEST_REGISTRY#*:},bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$dir/registry.sock" &
  podman_forwarders+=($!)
  # Whatever its root and network folder, Podman creates /var/lib/containers/cache, and the
  # cleanup of an exited container /etc/containers/networks/netavark.lock: each is removed at the
  # end when it was not there before.
  for path in /var/lib/containers /etc/containers/networks; do
    [ -e "$path" ] || podman_made+=("$path")
  done
  # nsenter enters only the network namespace; `ip netns exec` would remount /sys and hide
  # the cgroup mounts.
  CONTAINERS_CONF="$dir/containers.conf" CONTAINERS_STORAGE_CONF="$dir/storage.conf" \
    CONTAINERS_REGISTRIES_CONF="$dir/registries.conf" \
    nsenter --net="/run/netns/$podman_netns" podman --root "$dir/storage" --runroot "$dir/run" \
    --tmpdir "$dir/tmp" --network-config-dir "$dir/networks" --cgroup-manager cgroupfs \
    --events-backend file system service --time=0 "unix://$dir/podman.sock" >"$dir/podman.log" 2>&1 &
  podman_pid=$!
  for _ in $(seq 1 60); do
    curl -sf --unix-socket "$dir/podman.sock" http://podman/_ping >/dev/null 2>&1 && break
    kill -0 "$podman_pid" 2>/dev/null || { echo "podman exited; its log:" >&2; cat "$dir/podman.log" >&2; exit 1; }
    sleep 0.25
  done
  podman_host="unix://$dir/podman.sock"
  export DOCKER_TEST_PODMAN_HOST=$podman_host
  echo "podman $(podman --version | awk '{print $3}') on $dir/podman.sock, in network namespace $podman_netns"
}

# A private sshd on loopback for the ssh:// transport, with a host key, configuration and client
# keys made for the run. Each authorized key's sessions get the environment of one case: the test
# daemon, a PATH without `docker`, and a daemon that is not there; a fourth key is not authorized.
# The client's configuration and known_hosts are files of the run too (DOCKER_TEST_SSH_DIR).
start_sshd() {
  local dir=$1 daemon_host=$2 port=${DOCKER_TEST_SSH_PORT:-2222} user
  user=$(id -un)
  mkdir -p "$dir"
  chmod 700 "$dir"
  for key in host_key daemon no-docker daemon-down stranger; do
    ssh-keygen -q -t ed25519 -N '' -C "$key" -f "$dir/$key"
  done
  {
    echo "environment=\"DOCKER_HOST=$daemon_host\" $(cat "$dir/daemon.pub")"
    echo "environment=\"PATH=/nonexistent\" $(cat "$dir/no-docker.pub")"
    echo "environment=\"DOCKER_HOST=unix://$dir/no-daemon.sock\" $(cat "$dir/daemon-down.pub")"
  } >"$dir/authorized_keys"
  cat >"$dir/sshd_config" <<CONFIG
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitUserEnvironment DOCKER_HOST,PATH
CONFIG
  echo "[127.0.0.1]:$port $(cat "$dir/host_key.pub")" >"$dir/known_hosts"
  : >"$dir/known_hosts.empty"
  cat >"$dir/ssh_config" <<CONFIG
Host *
  UserKnownHostsFile $dir/known_hosts
  StrictHostKeyChecking yes
  IdentitiesOnly yes
  BatchMode yes
  LogLevel ERROR
CONFIG
  # sshd refuses to start without its privilege separation directory.
  if [ ! -d /run/sshd ]; then
    mkdir -p /run/sshd
    sshd_made=/run/sshd
  fi
  /usr/sbin/sshd -D -f "$dir/sshd_config" -E "$dir/sshd.log" &
  sshd_pid=$!
  for _ in $(seq 1 60); do
    ssh -F "$dir/ssh_config" -i "$dir/daemon" -p "$port" "$user@127.0.0.1" true 2>/dev/null && break
    kill -0 "$sshd_pid" 2>/dev/null || { echo "sshd exited; its log:" >&2; cat "$dir/sshd.log" >&2; exit 1; }
    sleep 0.25
  done
  export DOCKER_TEST_SSH_HOST="ssh://$user@127.0.0.1:$port"
  export DOCKER_TEST_SSH_DIR=$dir
  echo "$(ssh -V 2>&1 | cut -d, -f1) to sshd on 127.0.0.1:$port, whose sessions reach the test daemon"
}

# The daemon and example tests again, against Podman, run as built for the workspace (as
# daemon_dies below), but for these, which reach the Docker daemon's TCP, TLS and ssh endpoints
# and have no counterpart in Podman's pass: the tests of the `ssh` target, and those listed.
# Names as libtest matches skips: a test of a module of the daemon binary by its path.
docker_endpoints_only=(
  ssh:: transports::smoke_over_plain_tcp transports::smoke_over_mutual_tls_from_the_environment
  transports::smoke_over_mutual_tls_from_a_docker_context transports::tls_without_client_certificate_is_refused_with_advice
  transports::tls_with_the_wrong_ca_is_refused_with_advice transports::plaintext_client_on_the_tls_port_is_told_to_use_tls
  transports::tls_client_on_a_plain_port_is_told_the_server_does_not_speak_tls
  connect_over_tcp_mutual_tls_and_a_context connect_over_ssh_and_without_ssh
)
# The test binaries of the daemon and example tests, as the workspace builds them.
daemon_test_binaries() {
  cargo test --workspace --exclude bench --no-run --message-format=json 2>/dev/null |
    grep -E '#(daemon-tests|docker-examples)@' | grep '"kind":\["test"\]' | grep -o '"executable":"[^"]*"' | cut -d'"' -f4
}

# A test replays its recording as on a machine without the servers: none of the variables
# naming them is set.
without_servers() {
  local variable unset=()
  for variable in $(env | grep -o '^DOCKER_TEST_[A-Z_]*='); do unset+=(-u "${variable%=}"); done
  env "${unset[@]}" "$@"
}

# The tests whose names passed, from libtest's output.
passed_tests() {
  sed -n 's/^test \(.*\) \.\.\. ok$/\1/p'
}

# Records every daemon and example test against the test daemon, and keeps in tests/replays/ the
# recordings (up to 512 KiB each) of those that passed and then replayed three times without
# the servers: a test whose requests depend on the clock, on servers other than the daemon, or
# on its own timing replays differently and is left to the daemon runs (a build without one
# ignores it).
record_replays() {
  local fresh binaries binary tests test file round kept=()
  fresh=$(mktemp -d "/tmp/docker-test-recordings.$$.XXXXXX")
  curl -sf --unix-socket "${DOCKER_TEST_HOST#unix://}" http://docker/version >"$fresh/daemon-version.json"
  binaries=$(daemon_test_binaries) || true
  [ -n "$binaries" ] || { echo "the test binaries did not build: nothing recorded, tests/replays/ left as it was" >&2; exit 1; }
  for binary in $binaries; do
    echo "recording $(basename "$binary")"
    tests=$(DOCKER_TEST_RECORD_DIR=$fresh "$binary" 2>&1 | tee -a "$fresh/record.log" | passed_tests) || true
    for round in 1 2 3; do
      [ -n "$tests" ] || break
      echo "replaying $(basename "$binary"), round $round of 3"
      # shellcheck disable=SC2086 # one test name per word
      tests=$(without_servers DOCKER_TEST_REPLAY_DIR="$fresh" timeout 600 "$binary" --exact $tests 2>&1 |
        tee -a "$fresh/replay.log" | passed_tests) || true
    done
    for test in $tests; do
      file="$fresh/${test##*::}.jsonl"
      [ -f "$file" ] || continue
      # Kept small enough to commit: an image's whole archive stays with the daemon runs.
      if [ "$(stat -c %s "$file")" -gt $((512 * 1024)) ]; then
        echo "not kept: ${test##*::} (its recording is over 512 KiB)"
        continue
      fi
      kept+=("$file")
    done
  done
  if [ ${#kept[@]} -eq 0 ]; then
    echo "no test replayed: tests/replays/ left as it was; what every run printed is in $fresh" >&2
    exit 1
  fi
  mkdir -p tests/replays
  rm -f tests/replays/*.jsonl
  cp "$fresh/daemon-version.json" "${kept[@]}" tests/replays/
  echo "${#kept[@]} tests recorded in tests/replays/ replay without a daemon; what every run printed is in"
  echo "$fresh/record.log and replay.log, until the next run of this script removes it"
}

# The committed recordings, replayed without the servers: the tests that fail here send what
# their recording does not hold, or leave what it holds unasked.
replay_recordings() {
  local binary tests
  for binary in $(daemon_test_binaries); do
    tests=$("$binary" --list 2>/dev/null | sed -n 's/: test$//p' | while read -r test; do
      if [ -f "tests/replays/${test##*::}.jsonl" ]; then echo "$test"; fi
    done)
    [ -n "$tests" ] || continue
    echo "$(basename "$binary"): the tests recorded in tests/replays/, replayed without the servers"
    # shellcheck disable=SC2086 # one test name per word
    without_servers timeout 600 "$binary" --exact $tests
  done
}

# One test at a time: Podman 4.3 fails a list, prune or data usage (500 "does not exist in
# database", "locating image with ID") when another client removes an object it is looking
# up, and every test removes what it made.
run_against_podman() {
  local coverage failed=0 arguments=(--test-threads=1)
  coverage=$(mktemp -d "/tmp/docker-test-podman-coverage.$$.XXXXXX")
  for test in "${docker_endpoints_only[@]}"; do arguments+=(--skip "$test"); done
  echo "the daemon and example tests against Podman"
  for binary in $(daemon_test_binaries); do
    DOCKER_TEST_HOST=$podman_host DOCKER_TEST_COVERAGE_DIR=$coverage \
      "$binary" "${arguments[@]}" || failed=1
  done
  DOCKER_TEST_HOST=$podman_host DOCKER_TEST_COVERAGE_DIR=$coverage \
    "$daemon_binary" load:: --ignored || failed=1
  DOCKER_TEST_HOST=$podman_host DOCKER_TEST_COVERAGE_DIR=$coverage \
    "${CARGO_TARGET_DIR:-target}/debug/coverage" || failed=1
  rm -rf "$coverage"
  return $failed
}

started_pid=""
podman_pid=""
podman_forwarders=()
podman_made=()
podman_host=""
forwarder_pid=""
registry_pids=()
peer_pid=""
sshd_pid=""
sshd_made=""
work=""
cleanup() {
  # A failed run stops before its own removal of the saved answers.
  [ -n "${coverage:-}" ] && rm -rf "$coverage" || true
  [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null || true
  [ -n "$sshd_made" ] && rm -rf "$sshd_made" || true
  [ -n "$forwarder_pid" ] && kill "$forwarder_pid" 2>/dev/null || true
  for pid in "${registry_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$peer_pid" ]; then
    kill "$peer_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$peer_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  ip netns del "$peer_netns" 2>/dev/null || true
  if [ -n "$podman_pid" ]; then
    kill "$podman_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$podman_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  for pid in "${podman_forwarders[@]}"; do kill "$pid" 2>/dev/null || true; done
  ip netns del "$podman_netns" 2>/dev/null || true
  for path in "${podman_made[@]}"; do rm -rf "$path"; done
  if [ -n "$started_pid" ]; then
    kill "$started_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$started_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  if [ -n "$work" ]; then
    # After the daemon-dies test, containerd shims and containers outlive the daemon.
    pkill -KILL -f "$work" 2>/dev/null || true
    grep -F "$work" /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r umount -l 2>/dev/null || true
    rm -rf "$work" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# A run killed before its cleanup (SIGKILL, a machine's session ending) leaves its daemons'
# mounts, its work folder and its network namespaces, all named with its process id; the next
# run's peer address would route to the dead run's interface. What a run whose process is gone
# left is removed here, before anything starts.
run_is_alive() {
  grep -qa test-with-daemon "/proc/$1/cmdline" 2>/dev/null
}
remove_what_killed_runs_left() {
  local path pid namespace
  for path in /tmp/docker-test.*.* /tmp/docker-test-coverage.*.* /tmp/docker-test-podman-coverage.*.* \
    /tmp/docker-test-recordings.*.*; do
    [ -d "$path" ] || continue
    pid=${path#/tmp/docker-test*.}
    pid=${pid%%.*}
    run_is_alive "$pid" && continue
    echo "removing $path, left by run $pid"
    pkill -KILL -f "$path" 2>/dev/null || true
    grep -F "$path/" /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r umount -l 2>/dev/null || true
    rm -rf "$path" 2>/dev/null || true
  done
  for namespace in $(ip netns list | grep -oE '^dct-(peer|podman)-[0-9]+'); do
    pid=${namespace##*-}
    run_is_alive "$pid" && continue
    echo "removing network namespace $namespace, left by run $pid"
    ip netns del "$namespace" 2>/dev/null || true
  done
  # The host end of a veth pair usually goes with its namespace's end; this is for when not.
  for namespace in $(ip -o link show | grep -oE 'dct-h[0-9]+' | sort -u); do
    pid=${namespace#dct-h}
    run_is_alive "$pid" || ip link del "$namespace" 2>/dev/null || true
  done
}

if [ -z "${DOCKER_TEST_HOST:-}" ]; then
  remove_what_killed_runs_left
  if pgrep -x dockerd >/dev/null; then
    echo "a dockerd this script did not start is running (pid $(pgrep -x dockerd | tr '\n' ' '));" >&2
    echo "starting a second one would break its network; point the tests at it with DOCKER_TEST_HOST=unix:///path/to/socket" >&2
    exit 1
  fi
  work=$(mktemp -d "/tmp/docker-test.$$.XXXXXX")
  socket="$work/docker.sock"
  certs="$work/certs"
  make_certificates "$certs"
  dockerd --data-root "$work/data" --exec-root "$work/exec" --pidfile "$work/dockerd.pid" \
    --host "unix://$socket" --host "tcp://127.0.0.1:$tls_port" \
    --tlsverify --tlscacert "$certs/ca.pem" --tlscert "$certs/server-cert.pem" --tlskey "$certs/server-key.pem" \
    >"$work/dockerd.log" 2>&1 &
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
  # dockerd cannot serve plain TCP and TLS at once: plain TCP reaches the socket through socat.
  socat "TCP-LISTEN:$tcp_port,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$socket" &
  forwarder_pid=$!
  export DOCKER_TEST_TCP_HOST="tcp://127.0.0.1:$tcp_port"
  export DOCKER_TEST_TLS_HOST="tcp://127.0.0.1:$tls_port"
  export DOCKER_TEST_CERT_PATH="$certs"
  echo "dockerd $(curl -s --unix-socket "$socket" http://docker/version | sed 's/.*"ApiVersion":"\([^"]*\)".*/API \1/') on $socket"
  start_registry "$work/registry"
  start_client_registries "$work/registries" "$certs"
  start_peer "$work/peer"
  start_podman "$work/podman"
  start_sshd "$work/ssh" "unix://$socket"
fi
export DOCKER_TEST_BUSYBOX="${DOCKER_TEST_BUSYBOX:-$(command -v busybox)}"

# The load test holds a thousand event streams open at once.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

coverage=$(mktemp -d "/tmp/docker-test-coverage.$$.XXXXXX")
export DOCKER_TEST_COVERAGE_DIR="$coverage"
if [ "${1:-}" = --run ]; then
  shift
  "$@"
elif [ "${1:-}" = --record ]; then
  record_replays
elif [ $# -gt 0 ]; then
  cargo test "$@"
else
  # The API docs of every crate, spec prose included, must build without a warning.
  RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --exclude bench --quiet
  # The benchmark has no tests and would only add bollard to the build. The generated crates'
  # freshness is one of these tests (codegen/tests/freshness.rs).
  cargo test --workspace --exclude bench --no-fail-fast
  # The daemon binary as built above: `cargo test --test daemon` would select fewer targets,
  # resolve dependency features differently and compile the workspace again.
  daemon_binary=$(cargo test --workspace --exclude bench --no-run --message-format=json 2>/dev/null |
    grep -o '"executable":"[^"]*/deps/daemon-[^"]*"' | cut -d'"' -f4)
  [ -x "$daemon_binary" ] || { echo "the daemon test binary was not found" >&2; exit 1; }
  # The load test counts the open files of its process, so it runs in a process of its own.
  "$daemon_binary" load:: --ignored
  # Built by the tests above with their features; `cargo run -p` would build everything again.
  "${CARGO_TARGET_DIR:-target}/debug/coverage"
  replay_recordings
  if [ -n "$podman_host" ]; then
    run_against_podman
  fi
  if [ -n "$started_pid" ]; then
    # After every other daemon test, as it kills the daemon this script started.
    DOCKER_TEST_DAEMON_PID=$started_pid "$daemon_binary" daemon_dies:: --ignored
  fi
  # The workspace turns the runtime's `tls` feature on; its unit tests also run without it. Last,
  # as building the runtime with other features replaces the workspace's build of it.
  cargo test -p docker-engine-runtime --lib
  # The optional parts stay optional: the runtime and a generated crate build without any.
  cargo check --quiet -p docker-engine-runtime -p docker-engine-v1-54 --no-default-features
  # Every Engine crate's fake daemon and model examples build, not only those the tests use.
  engine_crates=$(ls generated-client | sed -n 's/^v1_\([0-9]*\)$/-p docker-engine-v1-\1/p')
  # shellcheck disable=SC2086 # one argument per word
  cargo check --quiet $engine_crates --features mock
fi
rm -rf "$coverage"
