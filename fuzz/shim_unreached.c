/*
 * shim_unreached.c — backend functions that the fuzzed files refer to but
 * that no parser reaches (conversions in oracode_tod_at and in the request
 * body builders). They must exist to link; each aborts, so if a parser ever
 * did reach one, the fuzzer would report it instead of running on a fake.
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "utils/date.h"
#include "utils/timestamp.h"

#include "pg_shim.h"
#include "tod.h"

/* Not reached: only oracode_tod_at converts dates. */
Timestamp
date2timestamp_opt_overflow(DateADT dateVal, int *overflow)
{
	shim_fail("date2timestamp_opt_overflow reached from a parser");
}

/* Not reached: localtime.c is not part of any parser. */
TimestampTz
zone_local_to_utc(const TodZone *zone, Timestamp local)
{
	shim_fail("zone_local_to_utc reached from a parser");
}

/* Not reached: only seam_format_local_time converts to local time. */
Timestamp
zone_utc_to_local(const TodZone *zone, TimestampTz t)
{
	shim_fail("zone_utc_to_local reached from a parser");
}

/* Not reached: only seam_format_local_time breaks timestamps down. */
int
timestamp2tm(Timestamp dt, int *tzp, struct pg_tm *tm, fsec_t *fsec, const char **tzn,
			 pg_tz *attimezone)
{
	shim_fail("timestamp2tm reached from a parser");
}

/* Not reached: only the request body builders convert to UTF-8. */
char *
pg_server_to_any(const char *s, int len, int encoding)
{
	shim_fail("pg_server_to_any reached from a parser");
}
