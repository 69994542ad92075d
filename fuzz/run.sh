#!/usr/bin/env bash
# Runs fuzz targets with cargo-fuzz (libFuzzer, nightly), each for a given time, seeding the
# corpora first. Findings land in fuzz/artifacts/<target>/; each becomes a regression test.
#
#   fuzz/run.sh 600                      # every target for ten minutes, one after another
#   fuzz/run.sh 60 json_stream spec_loader
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
every_target=(json_stream output_stream path_stat docker_host spec_loader reference digest link recording challenge
  token headers build_aux session mock_routing)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=("${every_target[@]}")
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal

# Seeds: the real specs and the generator's fixture for the loader; a few well-formed
# messages for the decoders, so mutations start from what daemons send. The binary ones (a
# BuildKit trace, session calls) and those of the later targets are files under seeds/.
for target in "${every_target[@]}"; do mkdir -p "corpus/$target"; done
for seeds in seeds/*/; do
  target=$(basename "$seeds")
  cp "$seeds"* "corpus/$target/"
done
for spec in ../specs/v*/swagger.yaml; do
  cp "$spec" "corpus/spec_loader/$(basename "$(dirname "$spec")").yaml"
done
cp ../codegen/tests/fixtures/*.yaml corpus/spec_loader/
printf '\x07{"status":"Downloading","progressDetail":{"current":1,"total":2},"id":"a1"}\r\n{"error":"boom","errorDetail":{"message":"boom"}}' \
  > corpus/json_stream/progress
printf '\x0b\x01\x00\x00\x00\x00\x00\x00\x06hello\n\x02\x00\x00\x00\x00\x00\x00\x04oops' > corpus/output_stream/frames
printf '%s' "$(printf '{"name":"etc","size":4096,"mode":2147484141,"mtime":"2024-01-01T00:00:00Z","linkTarget":""}' | base64 -w0)" \
  > corpus/path_stat/directory
printf 'tcp://127.0.0.1:2376\n{"currentContext":"fuzzed"}\n{"Name":"fuzzed","Endpoints":{"docker":{"Host":"unix:///run/docker.sock"}}}' \
  > corpus/docker_host/context
# References as the tests and the specs write them; a digest with the bytes it names ("a").
digest=sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb
for reference in busybox library/busybox:1.36 localhost:5000/team/app:v1 "127.0.0.1:5001/a/b@$digest" \
  "ghcr.io/owner/image:tag@$digest" docker.io/library/alpine; do
  printf '%s' "$reference" > "corpus/reference/$(printf '%s' "$reference" | tr -c 'a-zA-Z0-9' _)"
done
printf '\x47%sa' "$digest" > corpus/digest/own
printf 'Basic realm="test-registry"' > corpus/challenge/basic
printf 'Bearer realm="https://127.0.0.1:5002/token",service="test-registry",scope="repository:a/b:pull,push"' \
  > corpus/challenge/bearer
printf '</v2/_catalog?last=b&n=2>; rel="next"' > corpus/link/catalog
printf '</v2/a/tags/list?n=1&last=v%%201>; rel="next", </v2/a/tags/list?n=1>; rel="prev"' > corpus/link/tags
printf '%s\n' '{"sequence":2,"method":"GET","path":"/v1.41/_ping","status":200,"headers":[["api-version","1.41"]],"chunks":["OK"]}' \
  '{"sequence":1,"method":"POST","path":"/v1.41/containers/a/attach","query":"stream=1&stdin=1","status":101,"chunks":[],"session":[{"client":"hi"},{"daemon":{"base64":"AQAAAAAAAAJoaQ=="}},"client_closed","daemon_closed"]}' \
  > corpus/recording/session

for target in "${targets[@]}"; do
  echo "== $target for ${seconds}s"
  cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 2>&1 \
    | tee "$target.log" | grep -E '^(#[0-9]+ +DONE|Done|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)' || true
  grep -E '^Done [0-9]+ runs' "$target.log" || true
done
