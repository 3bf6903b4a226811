#!/usr/bin/env bash
# `npm run lab`: the notebooks in a browser. Starts Debian's classic Jupyter Notebook (6.4, package
# jupyter-notebook: JupyterLab is not packaged in Debian 12, the classic notebook installs offline
# from Debian) on notebooks/ with this checkout's tslab kernel, registered project-locally under
# .jupyter-kernel/ (scripts/setup-jupyter.sh), and prints the URL to open, token included.
#
# Extra arguments go to Jupyter as --name=value, e.g. `npm run lab -- --port=9000`; --port,
# --ip, --notebook-dir and --NotebookApp.token replace the defaults below.
# ANATOMY_SSL_NOTEBOOK_MODE=small (inherited by the kernel) runs the quick versions of the notebooks.
# The script execs Jupyter, so its PID is the server's: stop it with Ctrl-C or SIGTERM.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py=/usr/bin/python3 # Debian's Jupyter is installed for this interpreter, not for any python3 on PATH

die() { echo "lab: $*" >&2; exit 1; }

"$py" -c "import notebook.notebookapp" 2>/dev/null ||
  die "the Jupyter Notebook server is missing ($py cannot import notebook): run \`npm run setup\` (installs Debian's jupyter-notebook)"
[ -e "$root/node_modules/.bin/tslab" ] || die "$root/node_modules/.bin/tslab is missing: run \`npm install\`"
if [ ! -f "$root/dist/src/index.js" ]; then
  echo "lab: dist/ is not built (the notebooks import ../dist/src/...): running npm run build"
  (cd "$root" && npm run -s build)
fi
# (Re)register the kernel when missing or pointing at another checkout's tslab (a moved checkout).
kernel="$root/.jupyter-kernel/kernels/tslab/kernel.json"
if ! grep -qF "\"$root/node_modules/.bin/tslab\"" "$kernel" 2>/dev/null; then
  echo "lab: no tslab kernel for this checkout at $kernel: running bash scripts/setup-jupyter.sh"
  bash "$root/scripts/setup-jupyter.sh"
fi

# Defaults, unless the arguments give their own (Jupyter refuses an option given twice).
ip=127.0.0.1 port="" token="" ip_given="" token_given="" dir_given=""
for a in "$@"; do
  case "$a" in
    --ip | --port | --notebook-dir | --NotebookApp.ip | --NotebookApp.port | --NotebookApp.token | --NotebookApp.notebook_dir)
      die "give $a as $a=value" ;;
    --ip=* | --NotebookApp.ip=*) ip="${a#*=}" ip_given=1 ;;
    --port=* | --NotebookApp.port=*) port="${a#*=}" ;;
    --NotebookApp.token=*) token="${a#*=}" token_given=1 ;;
    --notebook-dir=* | --NotebookApp.notebook_dir=*) dir_given=1 ;;
  esac
done
defaults=(--no-browser)
[ -n "$ip_given" ] || defaults+=(--ip="$ip")
[ -n "$dir_given" ] || defaults+=(--notebook-dir="$root/notebooks")
[ "$(id -u)" -ne 0 ] || defaults+=(--allow-root)

# The URL printed below must be the one that works, so the port and the token are settled here:
# the first free port from 8888 (where Jupyter itself would look), with Jupyter's retrying on
# other ports turned off, and a fresh token unless one is given. They reach Jupyter through its
# own environment variables, which the command line still overrides and which, unlike arguments,
# do not show the token in `ps`.
if [ -z "$port" ]; then
  port="$("$py" -c '
import socket, sys
for p in range(int(sys.argv[2]), int(sys.argv[2]) + 50):
    with socket.socket() as s:
        try:
            s.bind((sys.argv[1], p))
        except OSError:
            continue
        print(p)
        break' "$ip" "${JUPYTER_PORT:-8888}")"
  [ -n "$port" ] || die "no free port from ${JUPYTER_PORT:-8888} on $ip: give one with --port=N"
  export JUPYTER_PORT="$port"
fi
export JUPYTER_PORT_RETRIES=0
if [ -z "$token_given" ]; then
  token="${JUPYTER_TOKEN:-$("$py" -c 'import secrets; print(secrets.token_hex(24))')}"
  export JUPYTER_TOKEN="$token"
fi
# Our kernel directory first; Jupyter still finds other kernels after it.
export JUPYTER_PATH="$root/.jupyter-kernel${JUPYTER_PATH:+:$JUPYTER_PATH}"

cat <<EOF

  anatomy-ssl lab: classic Jupyter Notebook with the tslab kernel
  notebook mode: ${ANATOMY_SSL_NOTEBOOK_MODE:-full} (ANATOMY_SSL_NOTEBOOK_MODE=small npm run lab for the quick versions)

  open  http://$ip:$port/tree${token:+?token=$token}

  stop with Ctrl-C (twice) or SIGTERM

EOF
exec "$py" -m notebook "${defaults[@]}" "$@"
