#!/usr/bin/env bash
# Packages the publishable crates (the runtime and every generated crate) as `cargo publish`
# would, and builds each package from its archive: the generated crates resolve the runtime
# through cargo's local overlay of the packages made in the same run. Nothing is uploaded.
# Add --no-verify to only pack them.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(-p docker-engine-runtime)
for manifest in generated-client/v*/Cargo.toml; do
  packages+=(-p "$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -1)")
done
cargo package --allow-dirty "${packages[@]}" "$@"
echo "packaged $(( ${#packages[@]} / 2 )) crates into ${CARGO_TARGET_DIR:-target}/package"
