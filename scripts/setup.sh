#!/usr/bin/env bash
# Installs what the tests and `npm run lab` need beyond npm packages, on Debian (run as root, or
# with sudo present):
#   python3-nibabel          reference NIfTI reader the io tests compare against
#   python3-scipy            reference statistics and distance transforms for the metrics tests
#   jupyter-nbconvert, python3-nbclient, python3-ipykernel
#                            real Jupyter to execute the notebooks headless
#   jupyter-notebook         the classic Notebook server behind `npm run lab` (JupyterLab is not
#                            packaged in Debian 12; this installs offline from Debian)
#   chromium                 renders the PNG figures (src/experiments/figures.ts) and drives the
#                            notebook browser test (test/lab-browser.test.ts, via playwright-core)
#   g++, libdnnl-dev         the optional native (oneDNN) kernels, ~6x faster training
#   slurm-wlm, munge         a real Slurm for test/slurm.test.ts, which starts munged, slurmctld
#                            and slurmd as a one-node cluster in a temporary folder (its own key,
#                            config and ports; the packages' system services are not used)
# then registers the project-local tslab kernel (scripts/setup-jupyter.sh) and builds the native
# kernels (scripts/build-native.sh; here a failed build is an error, in `npm install` it is not).
# Idempotent: packages already present are not reinstalled and apt is not touched.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(python3-nibabel python3-scipy jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-notebook chromium g++ libdnnl-dev slurm-wlm munge)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
bash scripts/setup-jupyter.sh
bash scripts/build-native.sh --required
