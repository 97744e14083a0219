/* Unit tests: the table of known schema hashes, exit statuses, number parsing */
#include "gmdb.h"
#include "tap.h"

int main(void)
{
	/* spec 4.5: every released version 2..22 has exactly one hash */
	for (int v = 2; v <= 22; v++) {
		const char *h = gm_hash_for_version(v);
		ok(h && strlen(h) == 32, "v%d has a 32-digit hash", v);
		is_int(gm_version_for_hash(h), v, "the hash of v%d maps back to v%d", v, v);
	}
	is_str(gm_hash_for_version(21), "e6a51a89dd22b75b61ead8f7083f251f", "v21's hash");
	is_str(gm_hash_for_version(22), "bf45f01327fb5feb2f5d3c06ba4a6792", "v22's hash");
	ok(gm_hash_for_version(0) == NULL, "the testing placeholder v0 has no hash");
	ok(gm_hash_for_version(1) == NULL, "v1 has no hash");
	ok(gm_hash_for_version(23) == NULL, "v23 is not known yet");
	is_int(gm_version_for_hash("d7b60c6191a71a812904a7523ed8c80c"), -1,
	       "the hash in upstream's old v21 reference file is not a known hash");
	is_int(gm_version_for_hash("419e5225259c53dd36ad80d82066ff02"), -1,
	       "the historical 19.0 hash is not in the reverse map");
	is_int(gm_version_for_hash(NULL), -1, "no hash, no version");
	is_int(gm_version_for_hash("E6A51A89DD22B75B61EAD8F7083F251F"), -1, "hashes are lower-case hex");
	is_int(gm_hash_latest_version(), 22, "the latest known version is 22");

	is_int(gm_exit_status(GM_OK), 0, "success exits 0");
	is_int(gm_exit_status(GM_EFAIL), 1, "failure exits 1");
	is_int(gm_exit_status(GM_EUSAGE), 2, "usage errors exit 2");
	is_int(gm_exit_status(GM_ECHECK), 3, "a check finding a problem exits 3");
	is_int(gm_exit_status(GM_ELOCKED), 4, "a held lock exits 4");

	int n = -1;
	is_int(gm_parse_uint("21", 9999, &n), GM_OK, "\"21\" parses");
	is_int(n, 21, "to 21");
	is_int(gm_parse_uint("-1", 9999, &n), GM_EUSAGE, "negative numbers are refused");
	is_int(gm_parse_uint("+1", 9999, &n), GM_EUSAGE, "signs are refused");
	is_int(gm_parse_uint("v21", 9999, &n), GM_EUSAGE, "\"v21\" is not a number");
	is_int(gm_parse_uint("21x", 9999, &n), GM_EUSAGE, "trailing garbage is refused");
	is_int(gm_parse_uint("", 9999, &n), GM_EUSAGE, "empty is refused");
	is_int(gm_parse_uint("10000", 9999, &n), GM_EUSAGE, "above the maximum is refused");
	is_int(gm_parse_uint("99999999999999999999", 9999, &n), GM_EUSAGE, "overflow is refused");

	struct gm_error err = GM_ERROR_INIT;
	is_int(gm_error_set(&err, GM_ECHECK, "database \"%s\" is odd", "x"), GM_ECHECK, "gm_error_set returns its code");
	gm_error_prefix(&err, "step %d", 3);
	is_str(err.message, "step 3: database \"x\" is odd", "gm_error_prefix prefixes");
	gm_error_release(&err);
	ok(err.message == NULL && err.code == GM_OK, "gm_error_release clears");
	gm_error_release(NULL);
	return tap_done();
}
