#!/usr/bin/env bash
# Prints a Python interpreter of 3.12 or newer (the development and test Python; the Lambda
# functions run on 3.14, and aws-sdk-transcribe-streaming needs 3.12). Looks on PATH, then
# under pyenv's versions (whose shims answer only for the version pyenv has selected).
# Exits 1 with a clear message when there is none.
set -uo pipefail

new_enough() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

candidates=()
for name in python3.13 python3.12 python3; do
  found=$(command -v "$name" 2>/dev/null) && candidates+=("$found")
done
for dir in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13* "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*; do
  [ -x "$dir/bin/python3" ] && candidates+=("$dir/bin/python3")
done

for candidate in "${candidates[@]}"; do
  if new_enough "$candidate"; then
    echo "$candidate"
    exit 0
  fi
done
echo "Python 3.12 or newer is needed (looked for python3.13, python3.12 and python3 on PATH and under" \
  "${PYENV_ROOT:-$HOME/.pyenv}/versions): install one, or run make with PYTHON=/path/to/python3.12" >&2
exit 1
