#!/usr/bin/env bash
# Makes the notebooks runnable headless and from a Jupyter UI, on Debian:
#  1. installs Jupyter from Debian when missing (nbconvert, nbclient, ipykernel), for /usr/bin/python3
#     (the python3 first on PATH may be another interpreter without these modules);
#  2. registers the tslab TypeScript kernel *project-locally*: a hand-written kernel.json under
#     .jupyter-kernel/kernels/tslab/ (gitignored). Nothing is written to ~/.local or /usr/share, so
#     the kernel always runs this checkout's tslab. `npm run lab` (scripts/lab.sh) uses it; by hand:
#         JUPYTER_PATH="$PWD/.jupyter-kernel" jupyter notebook
#     test/notebooks.test.ts sets JUPYTER_PATH itself.
# Idempotent: apt is only touched when a module is missing; kernel.json is rewritten only when its
# content would change (e.g. the checkout or node moved). Run as root, or with sudo available.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py=/usr/bin/python3

if ! "$py" -c "import nbclient, nbconvert, nbformat, jupyter_client, ipykernel" 2>/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup-jupyter: installing Jupyter from Debian"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
    jupyter-nbconvert python3-nbclient python3-ipykernel
fi

tslab="$root/node_modules/.bin/tslab"
if [ ! -e "$tslab" ]; then
  echo "setup-jupyter: $tslab not found: run npm install (or npm ci) first" >&2
  exit 1
fi
# The kernel is started by Jupyter, whose PATH may lack node (e.g. a desktop launcher), so the
# kernel.json names node explicitly rather than relying on tslab's '#!/usr/bin/env node'.
node="$(command -v node)" || { echo "setup-jupyter: node is not on PATH" >&2; exit 1; }

# Same argv as tslab's own `tslab install` (python/install.py): '--config-path' and
# '{connection_file}' are separate elements (tslab issue #36).
dir="$root/.jupyter-kernel/kernels/tslab"
mkdir -p "$dir"
json="$(TSLAB="$tslab" NODE="$node" "$py" -c '
import json, os
print(json.dumps({
    "argv": [os.environ["NODE"], os.environ["TSLAB"], "kernel", "--config-path", "{connection_file}"],
    "display_name": "TypeScript (tslab, anatomy-ssl)",
    "language": "typescript",
}, indent=1))')"
if [ "$(cat "$dir/kernel.json" 2>/dev/null)" != "$json" ]; then
  printf '%s\n' "$json" > "$dir/kernel.json.tmp"
  mv "$dir/kernel.json.tmp" "$dir/kernel.json"
  echo "setup-jupyter: wrote $dir/kernel.json"
fi

# Check that Jupyter itself finds the kernel through JUPYTER_PATH.
JUPYTER_PATH="$root/.jupyter-kernel" "$py" -c '
from jupyter_client.kernelspec import KernelSpecManager
spec = KernelSpecManager().get_kernel_spec("tslab")
print("setup-jupyter: kernel tslab ->", " ".join(spec.argv))'
