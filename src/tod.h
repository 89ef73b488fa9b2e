/*
 * tod.h — the oracode_tod type: a Seam time of day with an offset and/or zone.
 */
#ifndef ORACODE_TOD_H
#define ORACODE_TOD_H

#include "postgres.h"
#include "pgtime.h"
#include "utils/timestamp.h"

#define TOD_HAS_OFFSET	0x01
#define TOD_HAS_ZONE	0x02

/* On-disk form: a varlena so that the zone name can be stored inline. */
typedef struct OracodeTod
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	uint8		flags;			/* TOD_HAS_OFFSET | TOD_HAS_ZONE */
	int32		offset;			/* seconds east of UTC; 0 without an offset */
	int64		time;			/* microseconds after local midnight */
	char		zone[FLEXIBLE_ARRAY_MEMBER];	/* canonical zone name, NUL-terminated */
} OracodeTod;

#define DatumGetOracodeTodP(X)		((OracodeTod *) PG_DETOAST_DATUM(X))
#define PG_GETARG_ORACODE_TOD_P(n)	DatumGetOracodeTodP(PG_GETARG_DATUM(n))

/*
 * The zone a wall-clock time is read in: a named zone when there is one
 * (it wins over the offset), else the fixed offset.
 */
typedef struct TodZone
{
	pg_tz	   *tz;				/* NULL means fixed offset */
	int32		offset;			/* seconds east of UTC when tz is NULL */
} TodZone;

/* A parsed time of day, before or after it is stored. */
typedef struct TodValue
{
	int64		time;
	int32		offset;
	bool		has_offset;
	pg_tz	   *tz;				/* resolved zone, or NULL */
	const char *zone;			/* canonical zone name, or NULL */
} TodValue;

/* Why a time of day could not be read (parsing never throws). */
typedef enum TodStatus
{
	TOD_OK = 0,
	TOD_BAD_SYNTAX,
	TOD_OUT_OF_RANGE,
	TOD_NO_ZONE,
	TOD_UNKNOWN_ZONE
} TodStatus;

extern TodStatus tod_parse(const char *str, TodValue *out);
extern const char *tod_status_detail(TodStatus status);
extern TodZone tod_value_zone(const TodValue *value);
extern TodZone tod_zone(const OracodeTod *tod);

/* localtime.c: wall-clock time in a zone <-> UTC, the way PostgreSQL does it */
extern TimestampTz zone_local_to_utc(const TodZone *zone, Timestamp local);
extern bool zone_stable_offset(const TodZone *zone, TimestampTz from, TimestampTz to,
							   int32 *offset, TimestampTz *stable_until);
extern Timestamp zone_utc_to_local(const TodZone *zone, TimestampTz t);
extern void zone_format(const TodZone *zone, char *buf, size_t len);

#endif							/* ORACODE_TOD_H */
