#!/usr/bin/env bash
# Installs what `npm run bench` compares kmplz with or starts: ImageMagick (compose and
# preprocess comparisons, with the DejaVu font its labels use), libvips' vipsthumbnail
# (preprocess comparison) and redis-server (the cluster bench). A bench whose tool is missing
# skips that comparison and says so in bench/REPORT.md. Idempotent; Debian packages only.
set -euo pipefail

packages=()
convert -version 2>/dev/null | grep -q ImageMagick || packages+=(imagemagick)
command -v vipsthumbnail >/dev/null 2>&1 || packages+=(libvips-tools)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || packages+=(fonts-dejavu-core)
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)

if [ "${#packages[@]}" -eq 0 ]; then
  echo "bench/install-tools: everything is installed"
  exit 0
fi
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
echo "bench/install-tools: installing ${packages[*]}"
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
