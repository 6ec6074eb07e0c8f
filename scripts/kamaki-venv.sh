#!/usr/bin/env bash
# Builds (once) a throwaway Python 2.7 virtualenv with GRNET's kamaki 0.16 from PyPI and
# prints the path of its `kamaki` executable on stdout (everything else goes to stderr).
#
#   export KAMAKI="$(scripts/kamaki-venv.sh)"
#
# Python 2.7 comes from pyenv ($(pyenv root)/versions/2.7.18, or $KAMAKI_PYTHON). The
# venv lives in $KAMAKI_VENV (default: target/kamaki-venv); running again reuses it.
# kamaki's own dependencies are pinned to the last releases that install on 2.7.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${KAMAKI_VENV:-$PWD/target/kamaki-venv}"
if [ -x "$venv/bin/kamaki" ] && "$venv/bin/kamaki" --version 2>/dev/null | grep -q '^kamaki 0\.16'; then
  echo "$venv/bin/kamaki"
  exit 0
fi

py="${KAMAKI_PYTHON:-}"
if [ -z "$py" ]; then
  root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
  py="$root/versions/2.7.18/bin/python"
fi
[ -x "$py" ] || { echo "kamaki-venv: no Python 2.7 at $py (set KAMAKI_PYTHON)" >&2; exit 1; }

{
  # virtualenv 20.15.1 is the newest that still runs on Python 2.7.
  "$py" -m virtualenv --version >/dev/null 2>&1 \
    || "$py" -m pip install --disable-pip-version-check --quiet 'virtualenv==20.15.1'
  rm -rf "$venv"
  "$py" -m virtualenv --quiet "$venv"
  "$venv/bin/pip" install --disable-pip-version-check --quiet \
    'kamaki==0.16' 'astakosclient==0.19' 'objpool==0.4' 'progress==1.6' \
    'python-dateutil==2.8.2' 'six==1.16.0'
  "$venv/bin/kamaki" --version
} >&2
echo "$venv/bin/kamaki"
