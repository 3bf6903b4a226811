#!/usr/bin/env bash
# Build the optional oneDNN kernels (native/dnnl_kernels.cc -> native/build/dnnl_kernels.node).
#
# Optional by design: `npm install` runs this and carries on when it fails (no compiler, no
# oneDNN headers, no Node headers); the library then uses the pure-wasm kernels and says so.
# Needs g++, Debian's libdnnl-dev (oneDNN 2.6) and Node's headers (node_api.h).
# Usage: bash scripts/build-native.sh [--required]   (--required: exit non-zero on failure)
set -u
cd "$(dirname "$0")/.."
required=0
[ "${1:-}" = "--required" ] && required=1
fail() {
  echo "[anatomy-ssl] native kernels not built: $1 (the wasm kernels will be used)" >&2
  exit $required
}
[ "${ANATOMY_SSL_NATIVE:-}" = "0" ] && fail "ANATOMY_SSL_NATIVE=0"
command -v g++ >/dev/null || fail "no g++ (apt-get install g++)"
[ -f /usr/include/dnnl.hpp ] || fail "no /usr/include/dnnl.hpp (apt-get install libdnnl-dev)"
nodeinc=""
for d in "$(dirname "$(dirname "$(command -v node)")")/include/node" /usr/include/node /usr/local/include/node; do
  [ -f "$d/node_api.h" ] && { nodeinc=$d; break; }
done
[ -n "$nodeinc" ] || fail "no Node headers (node_api.h) next to $(command -v node)"
mkdir -p native/build
tmp=native/build/dnnl_kernels.node.tmp
# -march=native: the addon is built on the machine that runs it (npm install), like a JIT
if ! g++ -O3 -march=native -std=c++17 -shared -fPIC -fopenmp -DNODE_GYP_MODULE_NAME=dnnl_kernels \
  -I"$nodeinc" native/dnnl_kernels.cc -ldnnl -o "$tmp" 2>native/build/build.log; then
  tail -20 native/build/build.log >&2
  fail "g++ failed (native/build/build.log)"
fi
mv "$tmp" native/build/dnnl_kernels.node
echo "[anatomy-ssl] native kernels built: native/build/dnnl_kernels.node (oneDNN, $nodeinc)" >&2
