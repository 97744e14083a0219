/*
 * hashes.c - the known schema hash of every GNUmed database version
 *
 * The one place that knows them (upstream's gmPG2.known_schema_hashes).
 * Version 0 is upstream's "not released, testing only" placeholder, which
 * never matches, so it is not listed.
 */
#include "gmdb-int.h"

#include <string.h>

static const struct {
	int version;
	const char *hash;
} known_hashes[] = {
	{ 2, "b09d50d7ed3f91ddf4c4ddb8ea507720" },
	{ 3, "e73718eaf230d8f1d2d01afa8462e176" },
	{ 4, "4428ccf2e54c289136819e701bb095ea" },
	{ 5, "7e7b093af57aea48c288e76632a382e5" },
	{ 6, "90e2026ac2efd236da9c8608b8685b2d" },
	{ 7, "6c9f6d3981483f8e9433df99d1947b27" },
	{ 8, "89b13a7af83337c3aad153b717e52360" },
	{ 9, "641a9b2be3c378ffc2bb2f0b1c9f051d" },
	{ 10, "7ef42a8fb2bd929a2cdd0c63864b4e8a" },
	{ 11, "03042ae24f3f92877d986fb0a6184d76" },
	{ 12, "06183a6616db62257e22814007a8ed07" },
	{ 13, "fab7c1ae408a6530c47f9b5111a0841e" },
	{ 14, "e170d543f067d1ea60bfe9076b1560cf" },
	{ 15, "70012ff960b77ecdff4981c94b5b55b6" },
	{ 16, "0bcf44ca22c479b52976e5eda1de8161" },
	{ 17, "161428ee97a00e3bf56168c3a15b7b50" },
	{ 18, "a0f9efcabdecfb4ddb6d8c0b69c02092" },
	{ 19, "57f009a159f55f77525cc0291e0c8b60" },
	{ 20, "baed1901ed4c2f272b56c8cb2c6d88e8" },
	{ 21, "e6a51a89dd22b75b61ead8f7083f251f" },
	{ 22, "bf45f01327fb5feb2f5d3c06ba4a6792" },
};

#define N_KNOWN (sizeof(known_hashes) / sizeof(known_hashes[0]))

const char *gm_hash_for_version(int version)
{
	for (size_t i = 0; i < N_KNOWN; i++)
		if (known_hashes[i].version == version)
			return known_hashes[i].hash;
	return NULL;
}

int gm_version_for_hash(const char *hash)
{
	if (!hash)
		return -1;
	for (size_t i = 0; i < N_KNOWN; i++)
		if (strcmp(known_hashes[i].hash, hash) == 0)
			return known_hashes[i].version;
	return -1;
}

int gm_hash_latest_version(void)
{
	return known_hashes[N_KNOWN - 1].version;
}
