#!/usr/bin/env bash
# The connector is a standard WASI component: run one of its operations on the stock `wasmtime`
# CLI (the same version as the host's wasmtime) against the simulator, and check the result.
#
#   scripts/wasmtime-cli-check.sh
#
# Installs wasmtime-cli 48.0.8 from crates.io if it is not on PATH (~10 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

WASMTIME_VERSION=48.0.8
rustup target add wasm32-wasip2
if ! command -v wasmtime >/dev/null || ! wasmtime --version | grep -q "$WASMTIME_VERSION"; then
  echo "installing wasmtime-cli $WASMTIME_VERSION (cargo install, takes a while)…"
  cargo install "wasmtime-cli@$WASMTIME_VERSION" --locked
fi
wasmtime --version

cargo build --quiet -p okeanos-connector --target wasm32-wasip2 --profile guest
cargo build --quiet -p okeanos-sim
component=target/wasm32-wasip2/guest/okeanos_connector.wasm

log=$(mktemp)
target/debug/okeanos-sim --listen 127.0.0.1:0 >"$log" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 50); do grep -q "http://" "$log" && break; sleep 0.1; done
auth_url=$(grep -o 'http://[0-9.:]*/identity/v2.0' "$log" | head -1)
token=$(grep -o 'token [^ ]*' "$log" | head -1 | cut -d' ' -f2)
[ -n "$auth_url" ] && [ -n "$token" ] || { echo "the simulator did not start:"; cat "$log"; exit 1; }

echo "wasmtime run --invoke 'list-flavors()' against $auth_url"
out=$(wasmtime run -S http -S config -S keyvalue \
  -S "config-var=auth_url=$auth_url" -S "config-var=token=$token" \
  --invoke 'list-flavors()' "$component")
echo "$out" | head -c 600; echo "…"
if echo "$out" | grep -q 'C2R2048D10ext_vlmc'; then
  echo "OK: the stock wasmtime CLI ran the connector and listed the ~Okeanos flavors"
else
  echo "FAILED: no C2R2048D10ext_vlmc flavor in the output"; exit 1
fi
