#!/usr/bin/env bash
# Takes the pages' screenshots into docs/screenshots/ with the browser tests' headless Chromium
# (Debian's chromium and chromium-driver) over a small month of demo traffic on SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --test api screenshots_of_the_main_pages -- --ignored --nocapture
ls -l docs/screenshots/
