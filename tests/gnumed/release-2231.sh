#!/bin/bash
# gnumed-server 22.31 (Debian trixie, the stable release), from the
# project's shared inputs beside the checkout (as CI has them; or
# GMDB_GNUMED_SERVER_2231 names the .deb), side by side with gmdb.
. "$(dirname "$0")/../lib/common.sh"
RELEASE=22.31-1 ADMIN=false
DEB=${GMDB_GNUMED_SERVER_2231:-$GMDB_SRCDIR/../shared/upstream/gnumed-server_22.31-1_all.deb}
[ -f "$DEB" ] || { echo "Bail out! no $DEB (../shared/upstream beside the checkout, or GMDB_GNUMED_SERVER_2231)"; exit 1; }
. "$GMDB_SRCDIR/tests/lib/release-side-by-side.sh"
