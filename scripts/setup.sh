#!/usr/bin/env bash
# Idempotent set-up of everything tug and its tests need on a Debian 12 machine (run as root):
# Debian packages, then a virtualenv at .venv with tug installed in editable mode.
# Never execs the pyenv shim at run time: the venv's python is the real interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
PKGS=(busybox-static runc crun mmdebstrap skopeo umoci docker-registry libseccomp2 uidmap nftables
      apache2-utils tmux zstd iproute2 openssl curl jq open-adventure gcc libc6-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  # keep services from auto-starting (docker-registry would listen on all interfaces)
  [ -x /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# the real interpreter behind any shim
PY=${TUG_PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.tug-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
  touch "$stamp"
fi
# issue 7: `tug run --init` needs a static PID-1 init that runs in any image; tug looks for it in
# <sys.prefix>/libexec/tug/tug-init (TUG_INIT overrides)
init_bin=.venv/libexec/tug/tug-init
if [ ! -x "$init_bin" ] || [ native/tug-init.c -nt "$init_bin" ]; then
  mkdir -p "$(dirname "$init_bin")"
  gcc -static -Os -Wall -o "$init_bin.tmp" native/tug-init.c && strip "$init_bin.tmp" && mv "$init_bin.tmp" "$init_bin"
fi
# byte-compile tug once: this machine sets PYTHONDONTWRITEBYTECODE, which would recompile it on every start
.venv/bin/python -m compileall -q src/tug >/dev/null
