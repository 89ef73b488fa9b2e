/*
 * fuzz_tod.c — libFuzzer target for the oracode_tod parser (src/tod.c).
 *
 * Each input is one string as a user would cast it to oracode_tod. Beyond
 * "does not crash", it checks what doc/reference.md ("oracode_tod") promises of the type:
 *   - tod_parse gives a time within the day and a zone or an offset;
 *   - oracode_tod_in accepts exactly what tod_parse accepts, and raises 22023
 *     for an unknown zone and 22007 for anything else malformed;
 *   - the output is canonical: it re-reads to an equal value with an equal
 *     hash, and printing that value again gives the same text;
 *   - oracode_tod_time and oracode_tod_zone agree with the parsed value.
 * A broken promise aborts, so libFuzzer keeps the input as a crash.
 */
#include "postgres.h"

#include <stdio.h>

#include "fmgr.h"
#include "utils/builtins.h"

#include "pg_shim.h"
#include "tod.h"

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern Datum oracode_tod_in(PG_FUNCTION_ARGS);
extern Datum oracode_tod_out(PG_FUNCTION_ARGS);
extern Datum oracode_tod_cmp(PG_FUNCTION_ARGS);
extern Datum oracode_tod_eq(PG_FUNCTION_ARGS);
extern Datum oracode_tod_hash(PG_FUNCTION_ARGS);
extern Datum oracode_tod_hash_extended(PG_FUNCTION_ARGS);
extern Datum oracode_tod_time(PG_FUNCTION_ARGS);
extern Datum oracode_tod_zone(PG_FUNCTION_ARGS);

/* Arguments and result of one oracode_tod_in call under shim_try. */
typedef struct InCall
{
	const char *text;
	OracodeTod *result;
} InCall;

/* Call the type's input function, as a cast does. */
static void
call_tod_in(void *arg)
{
	InCall	   *call = arg;

	call->result = (OracodeTod *) DatumGetPointer(DirectFunctionCall1(oracode_tod_in,
																	  CStringGetDatum(call->text)));
}

/* Input a text that must be accepted; a failure is a finding. */
static OracodeTod *
must_read(const char *text, const char *what)
{
	InCall		call = {text, NULL};

	if (shim_try(call_tod_in, &call) != 0)
		shim_fail("%s \"%s\" is refused: %s", what, text, shim_last_error()->message);
	return call.result;
}

/* The text output of a stored value. */
static char *
print_tod(OracodeTod *tod)
{
	return DatumGetCString(DirectFunctionCall1(oracode_tod_out, PointerGetDatum(tod)));
}

/* Check the parser's result fields for a text that tod_parse accepted. */
static void
check_parsed(const char *input, const TodValue *v)
{
	if (v->time < 0 || v->time >= USECS_PER_DAY)
		shim_fail("\"%s\" parses to time %lld outside the day", input, (long long) v->time);
	if (v->has_offset && (v->offset <= -SECS_PER_DAY || v->offset >= SECS_PER_DAY))
		shim_fail("\"%s\" parses to offset %d", input, v->offset);
	if (!v->has_offset && v->offset != 0)
		shim_fail("\"%s\" has no offset but offset %d", input, v->offset);
	if (!v->has_offset && v->tz == NULL)
		shim_fail("\"%s\" is accepted with neither offset nor zone", input);
	if ((v->tz == NULL) != (v->zone == NULL))
		shim_fail("\"%s\": zone and zone name disagree", input);
	if (v->tz != NULL && strcmp(v->zone, pg_get_timezone_name(v->tz)) != 0)
		shim_fail("\"%s\": zone name is not the canonical one", input);
}

/* Check the SQL functions on a value that was input from text. */
static void
check_value(const char *input, const TodValue *v, OracodeTod *tod)
{
	char	   *out = print_tod(tod);
	OracodeTod *again = must_read(out, "the output");
	char	   *out2 = print_tod(again);
	text	   *zone_text;
	char	   *zone;
	char		expect_zone[16];

	if (tod->time != v->time || ((tod->flags & TOD_HAS_OFFSET) != 0) != v->has_offset ||
		((tod->flags & TOD_HAS_ZONE) != 0) != (v->zone != NULL) ||
		(v->has_offset && tod->offset != v->offset) ||
		(v->zone != NULL && strcmp(tod->zone, v->zone) != 0))
		shim_fail("\"%s\": the stored value differs from what tod_parse read", input);
	if (DatumGetInt32(DirectFunctionCall2(oracode_tod_cmp, PointerGetDatum(tod), PointerGetDatum(again))) != 0 ||
		!DatumGetBool(DirectFunctionCall2(oracode_tod_eq, PointerGetDatum(tod), PointerGetDatum(again))))
		shim_fail("\"%s\" prints as \"%s\", which reads back as a different value", input, out);
	if (DatumGetInt32(DirectFunctionCall1(oracode_tod_hash, PointerGetDatum(tod))) !=
		DatumGetInt32(DirectFunctionCall1(oracode_tod_hash, PointerGetDatum(again))) ||
		DatumGetInt64(DirectFunctionCall2(oracode_tod_hash_extended, PointerGetDatum(tod), Int64GetDatum(42))) !=
		DatumGetInt64(DirectFunctionCall2(oracode_tod_hash_extended, PointerGetDatum(again), Int64GetDatum(42))))
		shim_fail("\"%s\" and its output \"%s\" hash differently", input, out);
	if (strcmp(out, out2) != 0)
		shim_fail("output is not canonical: \"%s\" prints as \"%s\", then as \"%s\"", input, out, out2);
	if (DatumGetInt64(DirectFunctionCall1(oracode_tod_time, PointerGetDatum(tod))) != v->time)
		shim_fail("oracode_tod_time of \"%s\" is not its wall time", input);

	/* cstring_to_text (shim_backend.c) makes a plain 4-byte-header text */
	zone_text = (text *) DatumGetPointer(DirectFunctionCall1(oracode_tod_zone, PointerGetDatum(tod)));
	zone = pnstrdup(VARDATA(zone_text), VARSIZE(zone_text) - VARHDRSZ);
	if (v->zone == NULL)
		snprintf(expect_zone, sizeof(expect_zone), "%c%02d:%02d", v->offset < 0 ? '-' : '+',
				 Abs(v->offset) / SECS_PER_HOUR, Abs(v->offset) % SECS_PER_HOUR / SECS_PER_MINUTE);
	if (strcmp(zone, v->zone ? v->zone : expect_zone) != 0)
		shim_fail("oracode_tod_zone of \"%s\" is \"%s\"", input, zone);
}

/* One fuzz iteration: the input is the text of a cast to oracode_tod. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *str = malloc(size + 1);	/* exactly sized, so ASan sees any over-read */
	TodValue	v;
	TodStatus	st;
	InCall		call;
	int			sqlstate;

	memcpy(str, data, size);
	str[size] = '\0';

	st = tod_parse(str, &v);
	if (st < TOD_OK || st > TOD_UNKNOWN_ZONE)
		shim_fail("tod_parse returned status %d", (int) st);
	if (strcmp(tod_status_detail(st), "Unknown error.") == 0)
		shim_fail("status %d has no detail sentence", (int) st);
	if (st == TOD_OK)
		check_parsed(str, &v);

	call.text = str;
	call.result = NULL;
	sqlstate = shim_try(call_tod_in, &call);
	if (st == TOD_OK)
	{
		if (sqlstate != 0)
			shim_fail("tod_parse accepts \"%s\" but oracode_tod_in raises %s", str,
					  shim_last_error()->sqlstate);
		check_value(str, &v, call.result);
	}
	else if (sqlstate != (st == TOD_UNKNOWN_ZONE ? ERRCODE_INVALID_PARAMETER_VALUE
						  : ERRCODE_INVALID_DATETIME_FORMAT))
		shim_fail("oracode_tod_in of \"%s\" (status %d) gives SQLSTATE %s, not %s", str, (int) st,
				  sqlstate ? shim_last_error()->sqlstate : "none",
				  st == TOD_UNKNOWN_ZONE ? "22023" : "22007");

	shim_memory_reset();
	free(str);
	return 0;
}
