/*
 * shim_backend.c — small backend functions that the parsers call, for the
 * fuzz harnesses: function-call glue, varlena helpers, encoding checks and
 * the calendar arithmetic that seam_parse_timestamp relies on.
 *
 * Each keeps the contract of PostgreSQL's function of the same name for
 * the inputs the harnesses can produce; where a shim is narrower than the
 * original (uuid_in takes only the canonical form), the comment says so and
 * the shim raises an ERROR for the rest, which the harnesses report.
 */
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/uuid.h"

#include "pg_shim.h"

/* Days per month, for common and leap years (the last entry is unused, as in PostgreSQL). */
const int	day_tab[2][13] = {
	{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0},
	{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0}
};

/* Julian day number of a proleptic Gregorian date (the textbook formula). */
int
date2j(int year, int month, int day)
{
	int			a = (14 - month) / 12;
	int			y = year + 4800 - a;
	int			m = month + 12 * a - 3;

	return day + (153 * m + 2) / 5 + 365 * y + y / 4 - y / 100 + y / 400 - 32045;
}

/* Call a V1 function with one argument, as fmgr.c does; a NULL result is an ERROR. */
Datum
DirectFunctionCall1Coll(PGFunction func, Oid collation, Datum arg1)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, 1, collation, NULL, NULL);
	fcinfo->args[0].value = arg1;
	fcinfo->args[0].isnull = false;
	result = (*func) (fcinfo);
	if (fcinfo->isnull)
		elog(ERROR, "function %p returned NULL", (void *) func);
	return result;
}

/* Value of one hexadecimal digit, or -1. */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * uuid_in for the canonical 8-4-4-4-12 form only (PostgreSQL's also takes
 * braces and other hyphenations); anything else raises 22P02, as it would.
 */
Datum
uuid_in(PG_FUNCTION_ARGS)
{
	const char *s = PG_GETARG_CSTRING(0);
	pg_uuid_t  *uuid = palloc(sizeof(pg_uuid_t));
	int			i,
				n = 0;

	for (i = 0; s[i] != '\0' && n < UUID_LEN * 2; i++)
	{
		int			v;

		if (s[i] == '-' && (i == 8 || i == 13 || i == 18 || i == 23))
			continue;
		if ((v = hex_value(s[i])) < 0)
			break;
		if (n % 2 == 0)
			uuid->data[n / 2] = (unsigned char) (v << 4);
		else
			uuid->data[n / 2] |= (unsigned char) v;
		n++;
	}
	if (n != UUID_LEN * 2 || s[i] != '\0' || i != 36)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"", "uuid", s)));
	PG_RETURN_UUID_P(uuid);
}

/* The harnesses never make toasted or short-header values; return the datum as it is. */
struct varlena *
pg_detoast_datum(struct varlena *datum)
{
	if (VARATT_IS_EXTENDED(datum))
		shim_fail("pg_detoast_datum of an extended datum");
	return datum;
}

/* A text datum holding a copy of a C string. */
text *
cstring_to_text(const char *s)
{
	size_t		len = strlen(s);
	text	   *result = palloc(VARHDRSZ + len);

	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), s, len);
	return result;
}

/* Verify a string in an encoding with PostgreSQL's own verifier (libpgcommon's wchar.c). */
bool
pg_verify_mbstr(int encoding, const char *mbstr, int len, bool noError)
{
	if (pg_encoding_verifymbstr(encoding, mbstr, len) == len)
		return true;
	if (noError)
		return false;
	ereport(ERROR,
			(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
			 errmsg("invalid byte sequence for encoding \"%s\"", "UTF8")));
	return false;				/* keep compiler quiet */
}

/* Call a V1 function with two arguments, as fmgr.c does. */
Datum
DirectFunctionCall2Coll(PGFunction func, Oid collation, Datum arg1, Datum arg2)
{
	LOCAL_FCINFO(fcinfo, 2);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, 2, collation, NULL, NULL);
	fcinfo->args[0].value = arg1;
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = arg2;
	fcinfo->args[1].isnull = false;
	result = (*func) (fcinfo);
	if (fcinfo->isnull)
		elog(ERROR, "function %p returned NULL", (void *) func);
	return result;
}
