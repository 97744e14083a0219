#!/bin/sh
# Regenerate the build system: ./autogen.sh && ./configure && make
set -e
cd "$(dirname "$0")"
autoreconf --install --force
# the TAP driver every test speaks
cp -f "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
