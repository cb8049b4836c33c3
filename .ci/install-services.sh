#!/usr/bin/env bash
# Installs the servers the test suites start privately (tests/support/*-server.ts): Debian's
# redis-server (store and queue suites) and PostgreSQL's server binaries (store suite). Under
# CI=true a missing server fails those suites instead of skipping them, so this runs first.
# Idempotent: installs only what is missing, and touches apt only when something is.
set -euo pipefail

packages=()
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
# Debian keeps initdb out of PATH, under /usr/lib/postgresql/<major>/bin.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1 || packages+=(postgresql)

if [ "${#packages[@]}" -eq 0 ]; then
  echo "install-services: redis-server and PostgreSQL already installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-services: need root or sudo to install: ${packages[*]}" >&2
  exit 1
fi

echo "install-services: installing ${packages[*]}"
apt_install() {
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
"${as_root[@]}" apt-get update -qq
if [[ " ${packages[*]} " == *" postgresql "* ]]; then
  # The tests run their own throwaway clusters: keep the package from creating and starting
  # the system-wide one (the same step as the official postgres Docker image).
  apt_install postgresql-common
  "${as_root[@]}" sed -ri 's/^#?\s*(create_main_cluster)\s*=.*$/\1 = false/' /etc/postgresql-common/createcluster.conf
fi
apt_install "${packages[@]}"
