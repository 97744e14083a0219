#!/bin/bash
# Two attacks found in review, kept out for good (tests/security/README):
#  - the owner gives the database a search_path with a schema of its own
#    ahead of pg_catalog, holding an "=" operator for name: the superuser
#    sessions of the fixup and the upgrade must not run it;
#  - the owner puts a CHECK constraint with a function of its own on
#    gm.schema_revision, which upstream's superuser files (20 -> 21) write
#    to as the superuser: the upgrade must refuse, before that runs.
# Each planted function records who ran it in public.seen, whatever
# becomes of the run: a non-superuser's record is fine, a superuser's is
# the hole.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference
serialize_gnumed_tests
work=$GMDB_TESTDIR/review
rm -rf "$work" && mkdir -p "$work" && chmod 777 "$work"
export GMDB_LOG_DIR=$work/logs
mkdir -p "$GMDB_LOG_DIR" && chmod 777 "$GMDB_LOG_DIR"

# plant DB SQL: as gm-dbo (SET ROLE: what it creates is gm-dbo's)
plant() {
	sql_rw "$1" -c 'SET ROLE "gm-dbo"' -c "$2" >/dev/null
}
# who ran the planted code: "superuser" rows of public.seen (through
# dblink-free means: the row is written in the caller's transaction, so a
# run that failed afterwards may have rolled it back; the run's success is
# checked too)
supers() { sql "$1" -c "SELECT count(*) FROM public.seen WHERE su"; }
runs() { sql "$1" -c "SELECT count(*) FROM public.seen"; }
recorder='
CREATE TABLE public.seen (who name, su boolean, at timestamptz DEFAULT clock_timestamp());
GRANT INSERT ON public.seen TO PUBLIC;
CREATE SCHEMA evil;
GRANT USAGE ON SCHEMA evil TO PUBLIC;
CREATE FUNCTION evil.name_eq(name, name) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.seen (who, su) VALUES (current_user, pg_catalog.current_setting($q$is_superuser$q$)::boolean);
	RETURN $1 OPERATOR(pg_catalog.=) $2;
END $$;
CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = evil.name_eq);
'

# --- the database's search_path ----------------------------------------------------
drop_db gnumed_v22
clone_db gmref_v22 gnumed_v22
plant gnumed_v22 "$recorder ALTER DATABASE gnumed_v22 SET search_path = evil, pg_catalog, \"\$user\", public;"
[ "$(sql_rw gnumed_v22 -c "SELECT 'gm-dbo'::name = 'gm-dbo'::name")" = t ] && [ "$(runs gnumed_v22)" = 1 ]
ok $? "the planted operator is what an unqualified name = name runs in gnumed_v22"
sql_rw gnumed_v22 -c "DELETE FROM public.seen" >/dev/null
run gm-fixup_server -d gnumed_v22
# upstream's SQL runs with the database's search_path, as upstream's does:
# what it creates may land in "evil" and change the result. What counts
# is that the superuser's steps ran, and as whom the operator did.
like "$rc" '^[0-3]$' "gm-fixup_server on a database whose search_path puts the owner's operators first: a documented status ($rc)"
like "$err" 'revalidating the constraints of "gnumed_v22" \.\.\. ok' "the superuser's steps ran"
is "$(supers gnumed_v22)" 0 "no superuser session ran the owner's = operator"
is "$(sql postgres -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'gm-dbo'")" f "gm-dbo is no superuser"
drop_db gnumed_v22

drop_db gnumed_v21
clone_db gmref_v21 gnumed_v21
plant gnumed_v21 "$recorder ALTER DATABASE gnumed_v21 SET search_path = evil, pg_catalog, \"\$user\", public;"
run gm-upgrade_server --no-backup --yes 21 22
# the clone carries the search_path too; upstream's SQL may then create
# objects in "evil": what counts here is who ran the operator
like "$rc" '^[0-3]$' "gm-upgrade_server 21 22 from such a database ends with a documented status ($rc)"
n=0
for d in gnumed_v21 gnumed_v22; do
	exists=$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$d'")
	[ "$exists" = 1 ] && n=$((n + $(supers "$d")))
done
is "$n" 0 "no superuser session of the upgrade ran the owner's = operator"
drop_db gnumed_v22
drop_db gnumed_v21

# --- a CHECK constraint on gm.schema_revision (20 -> 21 runs superuser files) ------------
drop_db gnumed_v20
clone_db gmref_v20 gnumed_v20
plant gnumed_v20 "$recorder
CREATE FUNCTION evil.fine(text) RETURNS boolean LANGUAGE plpgsql AS \$\$
BEGIN
	INSERT INTO public.seen (who, su) VALUES (current_user, pg_catalog.current_setting(\$q\$is_superuser\$q\$)::boolean);
	RETURN true;
END \$\$;
ALTER TABLE gm.schema_revision ADD CONSTRAINT evil_check CHECK (evil.fine(filename)) NOT VALID;"
sql_rw gnumed_v20 -c "DELETE FROM public.seen" >/dev/null
run gm-upgrade_server --no-backup --yes 20 21
is "$rc" 3 "gm-upgrade_server 20 21 with the owner's CHECK on gm.schema_revision: refused (exit 3)"
like "$err" "superuser schema files would run code of somebody else's as the superuser: gm.schema_revision: a constraint, default or index uses evil.fine\(text\)" \
	"and says what it found"
is "$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'gnumed_v21'")" 0 "no half-made gnumed_v21 is left"
is "$(supers gnumed_v20)" 0 "the source shows no superuser run of the owner's function"
is "$(sql postgres -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'gm-dbo'")" f "gm-dbo is no superuser"
drop_db gnumed_v20
done_testing
