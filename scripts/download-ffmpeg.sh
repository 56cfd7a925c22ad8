#!/usr/bin/env bash
# Builds the ffmpeg Lambda layer content: layers/ffmpeg/bin/ffmpeg (= /opt/bin/ffmpeg).
# The binary comes from the pinned imageio-ffmpeg 0.7.0 manylinux2014 wheel, a static
# ffmpeg 7.0.2 that decodes WebM/Opus and encodes MP3. Later releases ship a dynamic
# build, so the version is pinned and the wheel is checked against its sha256.
# Idempotent: an existing binary whose recorded wheel checksum matches is kept.
set -euo pipefail

ARCH="${1:-${FFMPEG_ARCH:-x86_64}}"
VERSION="0.7.0"
case "$ARCH" in
  x86_64)  WHEEL_SHA256="4e1f36bef7bedd4bc5dc25f60a8345d88f57133fa1e754f09b411ac61b854408" ;;
  aarch64) WHEEL_SHA256="588a23c6a1c55a7cb51febfe97d3ef8dd5e7fa0ef7e14c7da8828e2886bdd3a3" ;;
  *) echo "download-ffmpeg: unsupported architecture '$ARCH' (x86_64 or aarch64)" >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="${FFMPEG_LAYER_DIR:-$ROOT/layers/ffmpeg}"
BIN="$OUT_DIR/bin/ffmpeg"
STAMP="$OUT_DIR/bin/.wheel-sha256"

if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$WHEEL_SHA256" ]]; then
  echo "download-ffmpeg: $BIN is up to date ($ARCH)"
  exit 0
fi

PIP="${PIP:-python3 -m pip}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

$PIP download --quiet --no-deps --only-binary=:all: \
  --platform "manylinux2014_${ARCH}" "imageio-ffmpeg==${VERSION}" -d "$WORK" 2> >(grep -v "is ignored" >&2)
WHEEL="$(ls "$WORK"/imageio_ffmpeg-${VERSION}-*manylinux2014_${ARCH}.whl)"
ACTUAL="$(sha256sum "$WHEEL" | cut -d' ' -f1)"
if [[ "$ACTUAL" != "$WHEEL_SHA256" ]]; then
  echo "download-ffmpeg: checksum mismatch for $(basename "$WHEEL"): $ACTUAL != $WHEEL_SHA256" >&2
  exit 1
fi

python3 - "$WHEEL" "$WORK/ffmpeg" <<'PY'
import sys, zipfile
wheel, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as zf:
    names = [n for n in zf.namelist() if n.startswith("imageio_ffmpeg/binaries/ffmpeg-linux")]
    if len(names) != 1:
        sys.exit(f"download-ffmpeg: expected one ffmpeg binary in the wheel, found {names}")
    with zf.open(names[0]) as src, open(target, "wb") as dst:
        dst.write(src.read())
PY
mkdir -p "$OUT_DIR/bin"
install -m 0755 "$WORK/ffmpeg" "$BIN"
echo "$WHEEL_SHA256" > "$STAMP"
echo "download-ffmpeg: wrote $BIN ($ARCH, from imageio-ffmpeg ${VERSION})"
