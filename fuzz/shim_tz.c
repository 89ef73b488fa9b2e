/*
 * shim_tz.c — pg_tzset for the fuzz harnesses: a fixed table of zone names.
 *
 * PostgreSQL's zone loader (src/timezone) is not in any library a Debian
 * package ships outside the server binary, so tod_parse's zone lookup is a
 * shim: it keeps pg_tzset's contract (a name longer than TZ_STRLEN_MAX or
 * not in the database gives NULL; case does not matter; the canonical
 * spelling comes back from pg_get_timezone_name) over the names below, which
 * are the ones doc/reference.md, the README and the tests use. What is fuzzed is
 * tod_parse's own syntax handling around the lookup, not the zone database.
 */
#include "postgres.h"

#include "pgtime.h"

#include "pg_shim.h"

struct pg_tz
{
	const char *name;
};

static struct pg_tz zones[] = {
	{"America/Chicago"}, {"America/Denver"}, {"America/Los_Angeles"},
	{"America/New_York"}, {"America/Phoenix"}, {"America/Sao_Paulo"},
	{"Asia/Kathmandu"}, {"Asia/Kolkata"}, {"Asia/Tokyo"},
	{"Australia/Lord_Howe"}, {"Australia/Sydney"}, {"CET"}, {"EST5EDT"},
	{"Etc/GMT+12"}, {"Etc/GMT-14"}, {"Etc/UTC"}, {"Europe/Berlin"},
	{"Europe/London"}, {"Europe/Paris"}, {"Europe/Zurich"}, {"GMT"},
	{"PST8PDT"}, {"Pacific/Auckland"}, {"Pacific/Chatham"}, {"UTC"},
};

/* The zone of that name (any case), or NULL, as pg_tzset answers. */
pg_tz *
pg_tzset(const char *tzname)
{
	size_t		i;

	if (strlen(tzname) > TZ_STRLEN_MAX)
		return NULL;
	for (i = 0; i < lengthof(zones); i++)
	{
		if (pg_strcasecmp(tzname, zones[i].name) == 0)
			return &zones[i];
	}
	return NULL;
}

/* Every zone of the table is usable (none has leap seconds). */
bool
pg_tz_acceptable(pg_tz *tz)
{
	if (tz == NULL)
		shim_fail("pg_tz_acceptable(NULL)");
	return true;
}

/* The canonical spelling of a zone returned by pg_tzset. */
const char *
pg_get_timezone_name(pg_tz *tz)
{
	if (tz == NULL)
		shim_fail("pg_get_timezone_name(NULL)");
	return tz->name;
}
