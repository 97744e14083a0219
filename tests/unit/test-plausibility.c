/* Unit tests: splitting plausibility check definitions, and comparing values
 * the way upstream's Python compares what psycopg2 makes of them */
#include "gmdb-int.h"
#include "tap.h"

#include <stdlib.h>

/* PostgreSQL type OIDs */
enum { BOOL = 16, BYTEA = 17, NAME = 19, INT8 = 20, INT2 = 21, INT4 = 23, TEXT = 25, OID = 26,
       JSON = 114, FLOAT4 = 700, FLOAT8 = 701, BPCHAR = 1042, VARCHAR = 1043, DATE = 1082,
       TIMESTAMP = 1114, TIMESTAMPTZ = 1184, INTERVAL = 1186, NUMERIC = 1700, INT4ARRAY = 1007,
       UUID = 2950 };

static void split_ok(const char *def, const char *tag, const char *old_sql)
{
	struct gm_error err = GM_ERROR_INIT;
	char *t, *o;
	int rc = gm_plausibility_split(def, &t, &o, &err);

	is_int(rc, GM_OK, "split [%s]", def);
	is_str(t, tag, "  tag");
	is_str(o, old_sql, "  old query");
	free(t);
	free(o);
	gm_error_release(&err);
}

static void split_bad(const char *def, const char *why)
{
	struct gm_error err = GM_ERROR_INIT;
	char *t, *o;
	int rc = gm_plausibility_split(def, &t, &o, &err);

	is_int(rc, GM_EUSAGE, "[%s] is a check definition error", def);
	ok(t == NULL && o == NULL, "  nothing returned");
	ok(err.message && strstr(err.message, why), "  error says \"%s\": %s", why, err.message ? err.message : "(none)");
	gm_error_release(&err);
}

#define EQ(a, ta, b, tb) ok(gm_plausibility_equal(a, ta, b, tb), "%s::%s == %s::%s", a ? a : "NULL", #ta, b ? b : "NULL", #tb)
#define NE(a, ta, b, tb) ok(!gm_plausibility_equal(a, ta, b, tb), "%s::%s != %s::%s", a ? a : "NULL", #ta, b ? b : "NULL", #tb)

int main(void)
{
	/* the shipped forms (update_db-v21_v22.conf) */
	split_ok("identities::::select count(1) from dem.identity", "identities", "select count(1) from dem.identity");
	split_ok("staff::::select count(1) from dem.staff\t\t\t\t\t\t\t\t-- old", "staff",
		 "select count(1) from dem.staff\t\t\t\t\t\t\t\t-- old");
	split_ok("substance view -- correctness::::select True", "substance view -- correctness", "select True");
	split_ok("messages::::select count(1) + 3 from dem.message_inbox", "messages",
		 "select count(1) + 3 from dem.message_inbox");
	/* nothing is stripped or interpreted */
	split_ok(" a ::::  select 1 ", " a ", "  select 1 ");
	split_ok("::::select 1", "", "select 1");
	split_ok("tag::::", "tag", "");
	split_ok("a:::b::::select ':::'", "a:::b", "select ':::'");
	/* Python's split: five colons split after the first four */
	split_ok("a:::::b", "a", ":b");
	split_ok("a:::::::b", "a", ":::b");
	/* anything but exactly one separator */
	split_bad("check definition error::select 1", "no \"::::\"");
	split_bad("", "no \"::::\"");
	split_bad("a::::b::::c", "more than one");
	split_bad("a::::::::b", "more than one");
	split_bad("::::::::", "more than one");

	/* NULL is None: equal only to None */
	EQ(NULL, INT8, NULL, TEXT);
	NE(NULL, INT8, "0", INT8);
	NE("", TEXT, NULL, TEXT);
	/* numbers by value, whatever their width */
	EQ("42", INT8, "42", INT8);
	EQ("42", INT4, "42", INT8);
	EQ("0", INT4, "0", INT8);
	EQ("7", INT2, "7", NUMERIC);
	EQ("7", OID, "7", INT8);
	NE("42", INT8, "43", INT8);
	NE("-1", INT8, "1", INT8);
	EQ("1.0", NUMERIC, "1", INT4);
	EQ("1.500", NUMERIC, "1.5", NUMERIC);
	EQ("-0.00", NUMERIC, "0", INT8);
	EQ("100", NUMERIC, "100.000", NUMERIC);
	NE("100", NUMERIC, "10", NUMERIC);
	NE("0.01", NUMERIC, "0.1", NUMERIC);
	EQ("1e+100", FLOAT8, "1e100", FLOAT8);
	EQ("2.5", FLOAT8, "2.50", NUMERIC);
	/* Python compares float and Decimal exactly: 0.1 is not 0.1 */
	NE("0.1", FLOAT8, "0.1", NUMERIC);
	EQ("0.1", FLOAT8, "0.1", FLOAT8);
	EQ("0.1", FLOAT4, "0.1", FLOAT8);
	EQ("3", FLOAT8, "3", INT8);
	/* NaN equals nothing, Infinity itself */
	NE("NaN", NUMERIC, "NaN", NUMERIC);
	NE("NaN", FLOAT8, "NaN", FLOAT8);
	EQ("Infinity", FLOAT8, "Infinity", NUMERIC);
	NE("Infinity", FLOAT8, "-Infinity", FLOAT8);
	/* booleans are 1 and 0 */
	EQ("t", BOOL, "t", BOOL);
	EQ("f", BOOL, "f", BOOL);
	NE("t", BOOL, "f", BOOL);
	EQ("t", BOOL, "1", INT8);
	EQ("f", BOOL, "0", INT4);
	EQ("t", BOOL, "1.0", NUMERIC);
	NE("t", BOOL, "2", INT8);
	/* strings by text, and never equal to a number */
	EQ("abc", TEXT, "abc", VARCHAR);
	EQ("abc", NAME, "abc", TEXT);
	NE("abc", TEXT, "abc ", TEXT);
	NE("ab  ", BPCHAR, "ab", TEXT);
	NE("1", TEXT, "1", INT4);
	NE("t", TEXT, "t", BOOL);
	EQ("0b7a9c3e-0000-4000-8000-000000000000", UUID, "0b7a9c3e-0000-4000-8000-000000000000", TEXT);
	/* other types: within the same Python class by text */
	EQ("2024-01-01", DATE, "2024-01-01", DATE);
	NE("2024-01-01", DATE, "2024-01-01", TEXT);
	NE("2024-01-01 00:00:00", TIMESTAMP, "2024-01-01 00:00:00", TIMESTAMPTZ);
	EQ("1 day", INTERVAL, "1 day", INTERVAL);
	EQ("{1,2}", INT4ARRAY, "{1,2}", INT4ARRAY);
	NE("{1,2}", INT4ARRAY, "{1,2}", TEXT);
	NE("{\"a\":1}", JSON, "{\"a\":1}", TEXT);
	NE("\\x01", BYTEA, "\\x02", BYTEA);

	/* what is decided before connecting (the databases do not exist) */
	{
		struct gm_error err = GM_ERROR_INIT;
		struct gm_strv items = GM_STRV_INIT;
		struct gm_check *checks = (struct gm_check *)&items;
		size_t n = 99;

		is_int(gm_plausibility_run("gmdb_no_such_old", "gmdb_no_such_new", NULL, &checks, &n, &err), GM_OK,
		       "no checks defined: success without connecting");
		ok(checks == NULL && n == 0, "  and no checks");
		gm_strv_push(&items, "a::::select 1");
		gm_strv_push(&items, "select 1");
		gm_strv_push(&items, "-- a lone comment");
		is_int(gm_plausibility_run("gmdb_no_such_old", "gmdb_no_such_new", &items, &checks, &n, &err), GM_EUSAGE,
		       "an odd number of items is a configuration error, before connecting");
		ok(err.message && strstr(err.message, "odd number of plausibility check items (3)"), "  saying so: %s",
		   err.message ? err.message : "(none)");
		ok(checks == NULL && n == 0, "  and no checks");
		gm_checks_free(NULL, 0);
		gm_strv_release(&items);
		gm_error_release(&err);
	}
	return tap_done();
}
