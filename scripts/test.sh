#!/usr/bin/env bash
# Installs everything the tests need, then runs lint, the type checker and every test
# (unit, AppTest, browser).
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# A Debian package the tests need ($1), installed when missing (apt-get, as root or via sudo);
# $2 says what happens without it.
apt_install() {
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
  else
    echo "No apt-get to install $1: $2" >&2
  fi
}

# Browser tests drive Debian's Chromium (Playwright's own download is not used).
# FLUX_STUDIO_CHROMIUM may point at any Chromium binary instead.
if [ -z "${FLUX_STUDIO_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium "set FLUX_STUDIO_CHROMIUM to a Chromium binary."
fi

# The store's tests also run on a real PostgreSQL server, which the tests start themselves
# from Debian's package (binaries in /usr/lib/postgresql/<version>/bin, not on PATH).
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && ! command -v postgres >/dev/null 2>&1; then
  apt_install postgresql "the PostgreSQL tests will skip (fail under CI)."
fi

ruff check .
ruff format --check .
mypy
python -m pytest "$@"
