#!/bin/bash
# gnumed-server 22.35 (Debian forky and sid), fetched from the Debian
# archive, side by side with gmdb: its engine grants the GNUmed groups to
# gm-dbo WITH ADMIN OPTION.
. "$(dirname "$0")/../lib/common.sh"
RELEASE=22.35-1 DEB='' ADMIN=true
. "$GMDB_SRCDIR/tests/lib/release-side-by-side.sh"
