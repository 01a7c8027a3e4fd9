#!/usr/bin/env bash
# Renders the README's picture (docs/screenshot.png) on purpose: builds and runs tst_screenshot, which writes
# build/dev/tests/screenshots/screenshot.png, and copies that picture into docs/. Tests never write into the source tree.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-dev}"
cmake --build --preset "$preset" --target tst_screenshot
QT_QPA_PLATFORM=offscreen ctest --preset "$preset" -R '^tst_screenshot$'
cp "build/$preset/tests/screenshots/screenshot.png" docs/screenshot.png
echo "docs/screenshot.png updated"
