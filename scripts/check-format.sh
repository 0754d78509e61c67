#!/usr/bin/env bash
# clang-format over the tracked C++ and CUDA sources (.clang-format at the top): lists every file whose
# formatting differs and exits 1 if any does; --fix rewrites them in place. Exits 77 (ctest: skipped) when
# clang-format is not installed. Files or regions that must keep a hand layout (the X-macro lists) say
# `// clang-format off`.
set -euo pipefail
cd "$(dirname "$0")/.."
fix=0
[ "${1:-}" = "--fix" ] && fix=1
cf=$(command -v clang-format || true)
[ -n "$cf" ] || { echo "clang-format not found: skipped"; exit 77; }
mapfile -t files < <(git ls-files '*.h' '*.cpp' '*.cu' '*.cuh' '*.inc' 2>/dev/null || find engine autograd models datasets apps bench tests docs -name '*.h' -o -name '*.cpp' -o -name '*.cu' -o -name '*.cuh' -o -name '*.inc')
bad=0
for f in "${files[@]}"; do
  if [ "$fix" = 1 ]; then
    "$cf" -i "$f"
  elif ! "$cf" --dry-run --Werror "$f" > /dev/null 2>&1; then
    echo "not clang-formatted: $f"
    bad=$((bad + 1))
  fi
done
[ "$fix" = 1 ] && { echo "formatted ${#files[@]} files"; exit 0; }
echo "$bad of ${#files[@]} files differ from clang-format ($("$cf" --version | head -1))"
[ "$bad" = 0 ]
