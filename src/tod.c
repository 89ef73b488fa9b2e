/*
 * tod.c — the oracode_tod base type (doc/reference.md, "oracode_tod"): a Seam time of day such as
 * "15:30:00[America/Los_Angeles]", "09:00:00Z" or "15:30:00-08:00[PST8PDT]".
 *
 * Parsing never throws, so that the slot reader can report a bad time in a
 * slot with its own SQLSTATE; the type's input function turns a failure into
 * 22007 (malformed) or 22023 (unknown zone).
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/timestamp.h"

#include "oracode.h"
#include "tod.h"

PG_FUNCTION_INFO_V1(oracode_tod_in);
PG_FUNCTION_INFO_V1(oracode_tod_out);
PG_FUNCTION_INFO_V1(oracode_tod_eq);
PG_FUNCTION_INFO_V1(oracode_tod_ne);
PG_FUNCTION_INFO_V1(oracode_tod_lt);
PG_FUNCTION_INFO_V1(oracode_tod_le);
PG_FUNCTION_INFO_V1(oracode_tod_gt);
PG_FUNCTION_INFO_V1(oracode_tod_ge);
PG_FUNCTION_INFO_V1(oracode_tod_cmp);
PG_FUNCTION_INFO_V1(oracode_tod_hash);
PG_FUNCTION_INFO_V1(oracode_tod_hash_extended);
PG_FUNCTION_INFO_V1(oracode_tod_time);
PG_FUNCTION_INFO_V1(oracode_tod_zone);
PG_FUNCTION_INFO_V1(oracode_tod_at);

/* Read exactly two decimal digits at *p into *val; advance on success. */
static bool
read_2digits(const char **p, int *val)
{
	const char *s = *p;

	if (!isdigit((unsigned char) s[0]) || !isdigit((unsigned char) s[1]))
		return false;
	*val = (s[0] - '0') * 10 + (s[1] - '0');
	*p = s + 2;
	return true;
}

/*
 * Parse a Seam TOD: HH:MM[:SS[.ffffff]] then Z or ±HH:MM and/or [zone].
 * Surrounding white space is allowed. Fills *out and returns TOD_OK, or
 * returns why the text is not a time of day.
 */
TodStatus
tod_parse(const char *str, TodValue *out)
{
	const char *p = str;
	int			hh,
				mm,
				ss = 0;
	int64		frac = 0;
	bool		range_error = false;

	memset(out, 0, sizeof(*out));
	while (isspace((unsigned char) *p))
		p++;

	if (!read_2digits(&p, &hh) || *p++ != ':' || !read_2digits(&p, &mm))
		return TOD_BAD_SYNTAX;
	if (*p == ':')
	{
		p++;
		if (!read_2digits(&p, &ss))
			return TOD_BAD_SYNTAX;
		if (*p == '.')
		{
			int			ndigits = 0;

			p++;
			while (isdigit((unsigned char) *p))
			{
				if (++ndigits > 6)
					return TOD_BAD_SYNTAX;
				frac = frac * 10 + (*p++ - '0');
			}
			if (ndigits == 0)
				return TOD_BAD_SYNTAX;
			for (; ndigits < 6; ndigits++)
				frac *= 10;
		}
	}
	if (hh > 23 || mm > 59 || ss > 59)
		range_error = true;
	out->time = ((int64) hh * SECS_PER_HOUR + mm * SECS_PER_MINUTE + ss) * USECS_PER_SEC + frac;

	/* optional offset */
	if (*p == 'Z')
	{
		p++;
		out->has_offset = true;
		out->offset = 0;
	}
	else if (*p == '+' || *p == '-')
	{
		int			sign = (*p == '-') ? -1 : 1;
		int			oh,
					om;

		p++;
		if (!read_2digits(&p, &oh) || *p++ != ':' || !read_2digits(&p, &om))
			return TOD_BAD_SYNTAX;
		if (oh > 23 || om > 59)
			range_error = true;
		out->has_offset = true;
		out->offset = sign * (oh * SECS_PER_HOUR + om * SECS_PER_MINUTE);
	}

	/* optional zone */
	if (*p == '[')
	{
		const char *start = ++p;
		char		name[TZ_STRLEN_MAX + 1];
		size_t		len;

		while (*p && *p != ']')
			p++;
		if (*p != ']')
			return TOD_BAD_SYNTAX;
		len = p - start;
		p++;
		if (len == 0)
			return TOD_BAD_SYNTAX;
		if (len > TZ_STRLEN_MAX)
			return TOD_UNKNOWN_ZONE;
		memcpy(name, start, len);
		name[len] = '\0';
		/* settle the syntax before looking the zone up */
		while (isspace((unsigned char) *p))
			p++;
		if (*p != '\0')
			return TOD_BAD_SYNTAX;
		if (range_error)
			return TOD_OUT_OF_RANGE;
		out->tz = pg_tzset(name);
		if (out->tz == NULL || !pg_tz_acceptable(out->tz))
			return TOD_UNKNOWN_ZONE;
		out->zone = pg_get_timezone_name(out->tz);
	}

	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		return TOD_BAD_SYNTAX;
	if (range_error)
		return TOD_OUT_OF_RANGE;
	if (!out->has_offset && out->tz == NULL)
		return TOD_NO_ZONE;
	return TOD_OK;
}

/* A full-sentence explanation of a parse failure, for errdetail. */
const char *
tod_status_detail(TodStatus status)
{
	switch (status)
	{
		case TOD_OK:
			return "The value is valid.";
		case TOD_BAD_SYNTAX:
			return "Expected HH:MM, HH:MM:SS or HH:MM:SS.ffffff followed by Z or ±HH:MM and/or a [zone].";
		case TOD_OUT_OF_RANGE:
			return "Hours must be 00 to 23 and minutes and seconds 00 to 59.";
		case TOD_NO_ZONE:
			return "A time of day needs a UTC offset (Z or ±HH:MM) or a [zone], or both.";
		case TOD_UNKNOWN_ZONE:
			return "The zone is not in PostgreSQL's time zone database.";
	}
	return "Unknown error.";		/* keep compiler quiet */
}

/* The zone to read a parsed value's wall time in: zone wins over offset. */
TodZone
tod_value_zone(const TodValue *value)
{
	TodZone		z;

	z.tz = value->tz;
	z.offset = value->offset;
	return z;
}

/* The zone to read a stored value's wall time in: zone wins over offset. */
TodZone
tod_zone(const OracodeTod *tod)
{
	TodZone		z;

	z.tz = NULL;
	z.offset = tod->offset;
	if (tod->flags & TOD_HAS_ZONE)
	{
		z.tz = pg_tzset(tod->zone);
		/* the name was accepted when stored; a vanished zone file is not the user's fault */
		if (z.tz == NULL)
			elog(ERROR, "time zone \"%s\" is no longer known", tod->zone);
	}
	return z;
}

Datum
oracode_tod_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	TodValue	v;
	TodStatus	st = tod_parse(str, &v);
	OracodeTod *result;
	size_t		zlen;

	if (st != TOD_OK)
		ereport(ERROR,
				(errcode(st == TOD_UNKNOWN_ZONE ? ERRCODE_INVALID_PARAMETER_VALUE
						 : ERRCODE_INVALID_DATETIME_FORMAT),
				 errmsg(st == TOD_UNKNOWN_ZONE ? "time zone of oracode_tod \"%s\" is not recognized"
						: "invalid input syntax for type oracode_tod: \"%s\"", str),
				 errdetail("%s", tod_status_detail(st))));

	zlen = v.zone ? strlen(v.zone) + 1 : 0;
	result = palloc0(offsetof(OracodeTod, zone) + zlen);
	SET_VARSIZE(result, offsetof(OracodeTod, zone) + zlen);
	result->time = v.time;
	result->offset = v.has_offset ? v.offset : 0;
	result->flags = (v.has_offset ? TOD_HAS_OFFSET : 0) | (v.zone ? TOD_HAS_ZONE : 0);
	if (v.zone)
		memcpy(result->zone, v.zone, zlen);
	PG_RETURN_POINTER(result);
}

/* Append "+HH:MM" or "-HH:MM" for an offset in seconds east of UTC. */
static void
append_offset(StringInfo buf, int32 offset)
{
	int32		a = Abs(offset);

	appendStringInfo(buf, "%c%02d:%02d", offset < 0 ? '-' : '+',
					 a / SECS_PER_HOUR, (a % SECS_PER_HOUR) / SECS_PER_MINUTE);
}

/* Append HH:MM:SS and the fraction, trailing zeros trimmed as time_out does. */
static void
append_wall_time(StringInfo buf, int64 time)
{
	int64		secs = time / USECS_PER_SEC;
	int			frac = (int) (time % USECS_PER_SEC);

	appendStringInfo(buf, "%02d:%02d:%02d", (int) (secs / SECS_PER_HOUR),
					 (int) ((secs / SECS_PER_MINUTE) % 60), (int) (secs % 60));
	if (frac != 0)
	{
		char		digits[8];
		int			n;

		snprintf(digits, sizeof(digits), "%06d", frac);
		for (n = 6; digits[n - 1] == '0'; n--)
			;
		digits[n] = '\0';
		appendStringInfo(buf, ".%s", digits);
	}
}

Datum
oracode_tod_out(PG_FUNCTION_ARGS)
{
	OracodeTod *tod = PG_GETARG_ORACODE_TOD_P(0);
	StringInfoData buf;

	initStringInfo(&buf);
	append_wall_time(&buf, tod->time);
	if (tod->flags & TOD_HAS_OFFSET)
		append_offset(&buf, tod->offset);
	if (tod->flags & TOD_HAS_ZONE)
		appendStringInfo(&buf, "[%s]", tod->zone);
	PG_RETURN_CSTRING(buf.data);
}

/* Total order: wall time, then offset (none first), then zone (none first). */
static int
tod_cmp_internal(const OracodeTod *a, const OracodeTod *b)
{
	bool		ao = (a->flags & TOD_HAS_OFFSET) != 0,
				bo = (b->flags & TOD_HAS_OFFSET) != 0,
				az = (a->flags & TOD_HAS_ZONE) != 0,
				bz = (b->flags & TOD_HAS_ZONE) != 0;

	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	if (ao != bo)
		return ao ? 1 : -1;
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	if (az != bz)
		return az ? 1 : -1;
	if (az)
	{
		int			c = strcmp(a->zone, b->zone);

		if (c != 0)
			return c < 0 ? -1 : 1;
	}
	return 0;
}

#define TOD_CMP_FUNC(name, op) \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	OracodeTod *a = PG_GETARG_ORACODE_TOD_P(0); \
	OracodeTod *b = PG_GETARG_ORACODE_TOD_P(1); \
	PG_RETURN_BOOL(tod_cmp_internal(a, b) op 0); \
}

TOD_CMP_FUNC(oracode_tod_eq, ==)
TOD_CMP_FUNC(oracode_tod_ne, !=)
TOD_CMP_FUNC(oracode_tod_lt, <)
TOD_CMP_FUNC(oracode_tod_le, <=)
TOD_CMP_FUNC(oracode_tod_gt, >)
TOD_CMP_FUNC(oracode_tod_ge, >=)

Datum
oracode_tod_cmp(PG_FUNCTION_ARGS)
{
	OracodeTod *a = PG_GETARG_ORACODE_TOD_P(0);
	OracodeTod *b = PG_GETARG_ORACODE_TOD_P(1);

	PG_RETURN_INT32(tod_cmp_internal(a, b));
}

/* Hash exactly the fields equality looks at, seeded for the extended form. */
static uint64
tod_hash_internal(const OracodeTod *tod, uint64 seed)
{
	uint64		h;

	h = DatumGetUInt64(hash_any_extended((const unsigned char *) &tod->time,
										 sizeof(tod->time), seed));
	h = hash_combine64(h, ((uint64) tod->flags << 32) | (uint32) tod->offset);
	if (tod->flags & TOD_HAS_ZONE)
		h = hash_combine64(h, DatumGetUInt64(hash_any_extended((const unsigned char *) tod->zone,
															   strlen(tod->zone), seed)));
	return h;
}

Datum
oracode_tod_hash(PG_FUNCTION_ARGS)
{
	OracodeTod *tod = PG_GETARG_ORACODE_TOD_P(0);

	PG_RETURN_INT32((int32) tod_hash_internal(tod, 0));
}

Datum
oracode_tod_hash_extended(PG_FUNCTION_ARGS)
{
	OracodeTod *tod = PG_GETARG_ORACODE_TOD_P(0);

	PG_RETURN_INT64((int64) tod_hash_internal(tod, (uint64) PG_GETARG_INT64(1)));
}

/* oracode_tod_time(oracode_tod) → time: the wall-clock time alone. */
Datum
oracode_tod_time(PG_FUNCTION_ARGS)
{
	OracodeTod *tod = PG_GETARG_ORACODE_TOD_P(0);

	PG_RETURN_TIMEADT(tod->time);
}

/* oracode_tod_zone(oracode_tod) → text: the bracket zone, else "±HH:MM". */
Datum
oracode_tod_zone(PG_FUNCTION_ARGS)
{
	OracodeTod *tod = PG_GETARG_ORACODE_TOD_P(0);
	StringInfoData buf;

	if (tod->flags & TOD_HAS_ZONE)
		PG_RETURN_TEXT_P(cstring_to_text(tod->zone));
	initStringInfo(&buf);
	append_offset(&buf, tod->offset);
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}

/* oracode_tod_at(oracode_tod, date) → timestamptz: that wall time on that local date. */
Datum
oracode_tod_at(PG_FUNCTION_ARGS)
{
	OracodeTod *tod = PG_GETARG_ORACODE_TOD_P(0);
	DateADT		date = PG_GETARG_DATEADT(1);
	TodZone		zone = tod_zone(tod);

	int			overflow = 0;
	Timestamp	midnight = date2timestamp_opt_overflow(date, &overflow);

	if (DATE_NOT_FINITE(date) || overflow != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("date out of range for oracode_tod_at"),
				 errdetail("The date must be finite and within the range of timestamps.")));
	PG_RETURN_TIMESTAMPTZ(zone_local_to_utc(&zone, midnight + tod->time));
}
