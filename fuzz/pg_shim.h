/*
 * pg_shim.h — the few PostgreSQL backend services that src/tod.c, src/slots.c
 * and src/seam_json.c need, provided outside a server so that libFuzzer can
 * drive those files, compiled from the same sources as the extension.
 *
 * What is real and what is shimmed (see fuzz/README.md):
 *   real      the code under test; pg_vsnprintf, StringInfo, psprintf,
 *             hash_bytes_extended and the UTF-8 verifier (libpgport/libpgcommon);
 *             cJSON (the system library, as in production)
 *   shimmed   palloc & co. (malloc with ASan-poisoned headers, freed per
 *             iteration), ereport/elog (an ERROR longjmps back to the harness,
 *             which is what an ERROR does), pg_tzset (a fixed table of zone
 *             names), two jsonb container accessors (over a cJSON tree), uuid_in
 *   absent    everything the parsers do not reach aborts (shim_unreached.c)
 */
#ifndef ORACODE_FUZZ_PG_SHIM_H
#define ORACODE_FUZZ_PG_SHIM_H

#include "postgres.h"

#include <cjson/cJSON.h>

#include "utils/jsonb.h"

/* The last ERROR raised inside shim_try. */
typedef struct ShimError
{
	int			elevel;
	int			sqlerrcode;
	char		sqlstate[6];
	char		message[1024];
	char		detail[1024];
	char		hint[1024];
	const char *filename;
	int			lineno;
} ShimError;

/* Run fn(arg); 0 if it returned, else the SQLSTATE code of the ERROR it raised. */
extern int	shim_try(void (*fn) (void *arg), void *arg);
extern const ShimError *shim_last_error(void);

/* Free everything palloc'd since the last reset; returns how many chunks were still live. */
extern int	shim_memory_reset(void);

/* A Jsonb whose containers read the given cJSON tree (shim_jsonb.c). */
extern Jsonb *shim_jsonb_from_cjson(const cJSON *root);
/* True if some object in the tree has a key twice (jsonb keeps the last, cJSON finds the first). */
extern bool shim_cjson_has_duplicate_keys(const cJSON *node);

/* Print a finding and abort, so that libFuzzer records the input as a crash. */
extern void shim_fail(const char *fmt,...) pg_attribute_printf(1, 2) pg_attribute_noreturn();

#endif							/* ORACODE_FUZZ_PG_SHIM_H */
