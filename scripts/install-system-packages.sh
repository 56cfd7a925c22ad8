#!/usr/bin/env bash
# Debian packages the local runner and the browser tests need: Apertium with the
# language pairs of docs/LOCAL.md, espeak-ng, and Chromium. Installs only what is
# missing; says clearly what to do when it cannot install.
set -euo pipefail

PACKAGES=(
  apertium apertium-eng-spa apertium-fr-es apertium-es-pt apertium-spa-ita apertium-spa-cat apertium-eng-cat
  espeak-ng sox
  chromium
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "error: missing Debian packages: ${missing[*]}" >&2
  echo "       this machine has no apt-get; install them with your package manager" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO="sudo"
  else
    echo "error: missing Debian packages: ${missing[*]}" >&2
    echo "       run: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi
echo "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
