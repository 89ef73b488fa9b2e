/*
 * localtime.c — wall-clock time in a time zone to UTC and back.
 *
 * The slow path is exactly what PostgreSQL does for
 * "(date + time) AT TIME ZONE zone", so DST gaps and overlaps resolve as the
 * server resolves them. The fast path notices when a zone's UTC offset does
 * not change over a span of time, so that matching can use plain arithmetic
 * for the bookings that are nowhere near a DST change (nearly all of them).
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "tod.h"

/* Seconds since the Unix epoch for a TimestampTz (floor division). */
static pg_time_t
timestamptz_to_unix(TimestampTz t)
{
	int64		secs = t / USECS_PER_SEC;

	if (t < 0 && secs * USECS_PER_SEC != t)
		secs--;
	return (pg_time_t) secs + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

/* TimestampTz for seconds since the Unix epoch. */
static TimestampTz
unix_to_timestamptz(pg_time_t t)
{
	return ((TimestampTz) t - (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY) * USECS_PER_SEC;
}

/*
 * The instant at which the wall-clock time "local" occurs in the zone,
 * resolved as PostgreSQL's timestamp → timestamptz conversion resolves it.
 */
TimestampTz
zone_local_to_utc(const TodZone *zone, Timestamp local)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;
	TimestampTz result;

	if (zone->tz == NULL)
		result = local - (int64) zone->offset * USECS_PER_SEC;
	else
	{
		if (timestamp2tm(local, NULL, &tm, &fsec, NULL, NULL) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		tzoff = DetermineTimeZoneOffset(&tm, zone->tz);
		if (tm2timestamp(&tm, fsec, &tzoff, &result) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
	}
	if (!IS_VALID_TIMESTAMP(result))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return result;
}

/* The wall-clock time in the zone at instant t (as timestamptz → timestamp). */
Timestamp
zone_utc_to_local(const TodZone *zone, TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;
	Timestamp	result;

	if (zone->tz == NULL)
		return t + (int64) zone->offset * USECS_PER_SEC;
	if (timestamp2tm(t, &tzoff, &tm, &fsec, NULL, zone->tz) != 0 ||
		tm2timestamp(&tm, fsec, NULL, &result) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return result;
}

/*
 * If the zone's UTC offset is the same at every instant of [from, to], set
 * *offset (seconds east of UTC) and *stable_until (the next change, or the
 * end of time) and return true. Return false when the offset changes in the
 * span or cannot be determined, so the caller takes the exact slow path.
 */
bool
zone_stable_offset(const TodZone *zone, TimestampTz from, TimestampTz to,
				   int32 *offset, TimestampTz *stable_until)
{
	pg_time_t	start = timestamptz_to_unix(from);
	pg_time_t	boundary;
	long		before_gmtoff,
				after_gmtoff;
	int			before_isdst,
				after_isdst;
	int			rc;

	if (zone->tz == NULL)
	{
		*offset = zone->offset;
		*stable_until = DT_NOEND;
		return true;
	}
	rc = pg_next_dst_boundary(&start, &before_gmtoff, &before_isdst, &boundary,
							  &after_gmtoff, &after_isdst, zone->tz);
	if (rc < 0)
		return false;
	*offset = (int32) before_gmtoff;
	*stable_until = (rc == 0) ? DT_NOEND : unix_to_timestamptz(boundary);
	return *stable_until > to;
}

/* Describe a zone for messages: its name, or its fixed offset as ±HH:MM. */
void
zone_format(const TodZone *zone, char *buf, size_t len)
{
	int32		a;

	if (zone->tz != NULL)
	{
		strlcpy(buf, pg_get_timezone_name(zone->tz), len);
		return;
	}
	a = Abs(zone->offset);
	snprintf(buf, len, "%c%02d:%02d", zone->offset < 0 ? '-' : '+',
			 a / SECS_PER_HOUR, (a % SECS_PER_HOUR) / SECS_PER_MINUTE);
}
