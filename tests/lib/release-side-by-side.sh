# release-side-by-side.sh - one gnumed-server release's own engine and gmdb
# side by side, with that release's tree, on copies of the same real
# databases (source it from a test that sets RELEASE, the Debian version,
# and DEB, the .deb or empty to fetch it from the host's Debian mirror):
# 21->22, 20->21 and the v22 fixup, compared with tests/lib/compare-db.sh.
# Roles are the cluster's, not a database's, so each run starts from the
# same role state (every admin option of gm-dbo revoked) and the role state
# after it is compared too: 22.35's engine grants the GNUmed groups to gm-dbo
# WITH ADMIN OPTION, 22.19's and 22.31's do not.
. "$GMDB_SRCDIR/tests/lib/tap.sh"
need_reference
serialize_gnumed_tests
work=$GMDB_TESTDIR/release-$RELEASE
rm -rf "$work" && mkdir -p "$work" && chmod 777 "$work"
export GMDB_LOG_DIR=$work/logs GMDB_BACKUP_DIR=$work/backups
mkdir -p "$GMDB_LOG_DIR" "$GMDB_BACKUP_DIR" && chmod 777 "$GMDB_LOG_DIR" "$GMDB_BACKUP_DIR"
masks=(-B -m modified_when -m orig_when -m audit_when -m pk_audit -m gm.schema_revision.imported -t clin.episode.summary)
same() { PGUSER=postgres "$GMDB_SRCDIR/tests/lib/compare-db.sh" -w "$work/cmp-$1-$2" "${@:3}" "$1" "$2" 2>&1; }

if [ -n "${DEB:-}" ]; then
	mkdir -p "$work/deb" && dpkg-deb -x "$DEB" "$work/deb" && chmod -R a+rX "$work/deb"
	ok $? "gnumed-server $RELEASE unpacked from $DEB"
	tree=$work/deb/var/lib/gnumed/server
else
	tree=$("$GMDB_SRCDIR/tests/lib/gnumed-server-deb.sh" "$RELEASE" "$work/deb" 2>"$work/deb.err")
	ok $? "gnumed-server $RELEASE unpacked from the Debian archive $(cat "$work/deb.err")"
fi

# gm-dbo's memberships (with their admin options) and attributes, and the
# superuser's memberships
roles() {
	sql postgres -c "SELECT string_agg(g.rolname || '>' || m.rolname || ':' || a.admin_option, ','
			ORDER BY g.rolname || '>' || m.rolname)
		FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
		WHERE m.rolname IN ('gm-dbo', 'postgres')" &&
	sql postgres -c "SELECT rolcanlogin || ' ' || rolcreatedb || ' ' || rolcreaterole FROM pg_roles WHERE rolname = 'gm-dbo'"
}
reset_roles() {
	sql postgres -c "SELECT format('REVOKE ADMIN OPTION FOR %I FROM %I;', g.rolname, m.rolname)
		FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
		WHERE m.rolname = 'gm-dbo' AND a.admin_option" | sql postgres >/dev/null
}

run env GMDB_UPSTREAM_DIR="$tree" gm-upgrade_server --check 21 22
like "$out$err" 'definition: ' "$RELEASE's engine is one gmdb knows (the guard lets --check go on)"

# --- 21 22: the release's own engine, then gmdb with the same tree ----------------------
for d in gnumed_v21 gnumed_v22 up_rel_v22; do drop_db "$d"; done
reset_roles
clone_db gmref_v21 gnumed_v21
GMDB_UPSTREAM_DIR=$tree PGUSER=postgres "$GMDB_SRCDIR/tests/gnumed/run-upstream.sh" update_db-v21_v22.conf "$work/upstream-v21_v22" \
	>"$work/upstream.err" 2>&1
ok $? "$RELEASE's own engine: update_db-v21_v22.conf on a copy of the real v21"
roles_upstream=$(roles)
sql postgres -c 'ALTER DATABASE gnumed_v22 RENAME TO up_rel_v22' >/dev/null

reset_roles
clone_db gmref_v21 gnumed_v21
clone_db gmref_v21 up_source_before
run gm-upgrade_server --no-backup --yes --upstream-dir "$tree" 21 22
is "$rc" 0 "gm-upgrade_server 21 22 with $RELEASE's tree"
is "$(roles)" "$roles_upstream" "gm-dbo's memberships, admin options and attributes are what $RELEASE's engine made"
out=$(same up_rel_v22 gnumed_v22 "${masks[@]}")
ok $? "gmdb's v22 is $RELEASE's v22: schema, rows (run times masked), roles"
printf '%s\n' "$out" | sed 's/^/# /' | head -n 20
out=$(same up_source_before gnumed_v21)
ok $? "the source gnumed_v21 is exactly as it was"

# --- 20 21: no SQL file grants roles here, only the engine does (run for an
# engine whose grants differ from 22.19's, which tests/gnumed/upgrade.sh covers)
if [ "$ADMIN" = true ]; then
	for d in gnumed_v20 gnumed_v21 gnumed_v22 up_rel_v21; do drop_db "$d"; done
	reset_roles
	clone_db gmref_v20 gnumed_v20
	GMDB_UPSTREAM_DIR=$tree PGUSER=postgres "$GMDB_SRCDIR/tests/gnumed/run-upstream.sh" update_db-v20_v21.conf "$work/upstream-v20_v21" \
		>"$work/upstream2.err" 2>&1
	ok $? "$RELEASE's own engine: update_db-v20_v21.conf on a copy of the real v20"
	roles_upstream=$(roles)
	# (the engine alone decides the admin option here)
	like "$roles_upstream" "gnumed_v21>gm-dbo:$ADMIN" "($RELEASE's engine granted gnumed_v21 to gm-dbo with admin option: $ADMIN)"
	sql postgres -c 'ALTER DATABASE gnumed_v21 RENAME TO up_rel_v21' >/dev/null
	reset_roles
	clone_db gmref_v20 gnumed_v20
	run gm-upgrade_server --no-backup --yes --upstream-dir "$tree" 20 21
	is "$rc" 0 "gm-upgrade_server 20 21 with $RELEASE's tree"
	is "$(roles)" "$roles_upstream" "gm-dbo's memberships, admin options and attributes are what $RELEASE's engine made"
	out=$(same up_rel_v21 gnumed_v21 "${masks[@]}")
	ok $? "gmdb's v21 is $RELEASE's v21: schema, rows (run times masked), roles"
	printf '%s\n' "$out" | sed 's/^/# /' | head -n 20
	for d in gnumed_v20 gnumed_v21 up_rel_v21; do drop_db "$d"; done
fi

# --- the release's fixup of v22, side by side ----------------------------------------
for d in gnumed_v21 gnumed_v22 fx_rel_up fx_rel_gmdb up_source_before; do drop_db "$d"; done
reset_roles
clone_db gmref_v22 gnumed_v22
GMDB_UPSTREAM_DIR=$tree PGUSER=postgres "$GMDB_SRCDIR/tests/gnumed/run-upstream.sh" fixup_db-v22.conf "$work/upstream-fixup" \
	>"$work/upstream-fixup.err" 2>&1
ok $? "$RELEASE's own engine: fixup_db-v22.conf on a copy of the real v22"
roles_upstream=$(roles)
sql postgres -c 'ALTER DATABASE gnumed_v22 RENAME TO fx_rel_up' >/dev/null

reset_roles
clone_db gmref_v22 gnumed_v22
run gm-fixup_server --upstream-dir "$tree" 22
is "$rc" 0 "gm-fixup_server 22 with $RELEASE's tree"
is "$(roles)" "$roles_upstream" "gm-dbo's memberships, admin options and attributes are what $RELEASE's fixup made"
sql postgres -c 'ALTER DATABASE gnumed_v22 RENAME TO fx_rel_gmdb' >/dev/null
out=$(same fx_rel_up fx_rel_gmdb -m modified_when -m orig_when -m audit_when -m pk_audit -m gm.schema_revision.imported)
ok $? "gmdb's fixup is $RELEASE's: schema, rows (run times masked), roles"
printf '%s\n' "$out" | sed 's/^/# /' | head -n 20

for d in up_rel_v22 fx_rel_up fx_rel_gmdb gnumed_v22; do drop_db "$d"; done
done_testing
