#!/usr/bin/env bash
# Rebuilds the committed useful-work modules from their C sources with clang's wasm32 target
# (Debian: apt-get install clang lld). No libc: src/work.h declares the WASI calls the ankr
# runtime provides. `./build.sh --check` fails if a committed module differs from its source.
set -euo pipefail
cd "$(dirname "$0")"
out=wasm
check=${1:-}
if [ "$check" = "--check" ]; then out=$(mktemp -d); fi
mkdir -p "$out"
for src in src/*.c; do
  name=$(basename "$src" .c)
  clang --target=wasm32 -O2 -nostdlib -fno-builtin-memset -fno-builtin-memcpy \
    -Wl,--no-entry -Wl,--export=_start -Wl,--strip-all -o "$out/$name.wasm" "$src"
  if [ "$check" = "--check" ]; then
    cmp "$out/$name.wasm" "wasm/$name.wasm" || { echo "wasm/$name.wasm does not match $src"; exit 1; }
  fi
done
echo "useful-work modules: $(ls "$out")"
