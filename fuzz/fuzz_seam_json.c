/*
 * fuzz_seam_json.c — libFuzzer target for the Seam response parser
 * (src/seam_json.c): every parser the worker and the sync run on a body
 * that came over HTTP, on each input.
 *
 * seam_json.c promises that nothing Seam sends raises an ERROR, that a
 * parse either succeeds with the essential fields present or fails with a
 * problem sentence, and that an error body always yields text to show.
 * Checked here, beyond "does not crash":
 *   - no parser raises;
 *   - a failed parse gives a problem sentence; seam_parse_error always
 *     fills type and message;
 *   - access codes and devices that are returned have non-empty ids, and
 *     devices a display name and a slot array that seam_parse_time_slots
 *     accepts (that is how the sync reads them);
 *   - a time slot without a problem has two times that tod_parse accepts
 *     and a user level id that is a UUID or none;
 *   - seam_parse_timestamp gives valid timestamps, and a timestamp printed
 *     in UTC (by the C library, not by PostgreSQL) reads back to itself.
 */
#include "postgres.h"

#include <time.h>

#include "datatype/timestamp.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "pg_shim.h"
#include "seam_json.h"

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern int	LLVMFuzzerInitialize(int *argc, char ***argv);

/* The input of one iteration, for the callbacks run under shim_try. */
static const char *body;

/* Check a problem sentence of a failed parse. */
static void
check_problem(const char *parser, const char *problem)
{
	if (problem == NULL || problem[0] == '\0')
		shim_fail("%s failed without a problem sentence", parser);
}

/* Check a timestamp field that a parser says is present. */
static void
check_timestamp(const char *what, bool present, TimestampTz t)
{
	if (present && !IS_VALID_TIMESTAMP(t))
		shim_fail("%s is %lld, outside PostgreSQL's range", what, (long long) t);
}

/* Check one parsed access code. */
static void
check_access_code(const SeamAccessCode *ac)
{
	if (ac->access_code_id == NULL || ac->access_code_id[0] == '\0')
		shim_fail("an access code without an access_code_id is returned");
	check_timestamp("starts_at", ac->has_starts_at, ac->starts_at);
	check_timestamp("ends_at", ac->has_ends_at, ac->ends_at);
}

/* Check the time slots of an array text as the sync reads them. */
static void
check_time_slots(const char *json, bool must_parse)
{
	SeamTimeSlot *slots;
	int			n,
				i;
	const char *problem = NULL;

	if (!seam_parse_time_slots(json, &slots, &n, &problem))
	{
		if (must_parse)
			shim_fail("a device's predefined_time_slots text \"%s\" does not parse: %s", json, problem);
		check_problem("seam_parse_time_slots", problem);
		return;
	}
	for (i = 0; i < n; i++)
	{
		TodValue	v;

		if (slots[i].position != i + 1)
			shim_fail("slot %d has position %d", i + 1, slots[i].position);
		if (slots[i].user_level_id != NULL && !seam_is_uuid(slots[i].user_level_id))
			shim_fail("slot %d keeps a user level id that is not a UUID", i + 1);
		if (slots[i].problem != NULL)
			continue;
		if (slots[i].name == NULL ||
			slots[i].check_in_time == NULL || tod_parse(slots[i].check_in_time, &v) != TOD_OK ||
			slots[i].check_out_time == NULL || tod_parse(slots[i].check_out_time, &v) != TOD_OK)
			shim_fail("slot %d has no problem but lacks a name or a valid time", i + 1);
	}
}

/* The error-body reader: always text to show. */
static void
run_parse_error(void *arg)
{
	SeamError	err;

	seam_parse_error(body, &err);
	if (err.type == NULL || err.message == NULL)
		shim_fail("seam_parse_error left type or message NULL");
}

/* The readers of /access_codes/create, /get and /list. */
static void
run_parse_access_codes(void *arg)
{
	SeamAccessCode ac;
	SeamAccessCode *acs;
	int			n,
				i;
	const char *problem = NULL;
	char	   *cursor;

	if (seam_parse_access_code(body, &ac, &problem))
		check_access_code(&ac);
	else
		check_problem("seam_parse_access_code", problem);

	problem = NULL;
	if (seam_parse_access_codes(body, &acs, &n, &cursor, &problem))
	{
		for (i = 0; i < n; i++)
			check_access_code(&acs[i]);
		if (cursor != NULL && cursor[0] == '\0')
			shim_fail("seam_parse_access_codes gave an empty next page cursor");
	}
	else
		check_problem("seam_parse_access_codes", problem);
}

/* The reader of /devices/list, then each device's slots as the sync reads them. */
static void
run_parse_devices(void *arg)
{
	SeamDevice *devs;
	int			n,
				i;
	char	   *cursor;
	const char *problem = NULL;

	if (!seam_parse_devices(body, &devs, &n, &cursor, &problem))
	{
		check_problem("seam_parse_devices", problem);
		return;
	}
	if (cursor != NULL && cursor[0] == '\0')
		shim_fail("an empty next_page_cursor is returned");
	for (i = 0; i < n; i++)
	{
		if (devs[i].device_id == NULL || devs[i].device_id[0] == '\0')
			shim_fail("a device without a device_id is returned");
		if (devs[i].display_name == NULL || devs[i].time_slots_json == NULL)
			shim_fail("device %s has no display_name or no time_slots_json", devs[i].device_id);
		check_time_slots(devs[i].time_slots_json, true);
	}
}

/* The slot reader on the body itself. */
static void
run_parse_time_slots(void *arg)
{
	check_time_slots(body, false);
}

/* The timestamp reader on the body itself, and a round trip through the C library. */
static void
run_parse_timestamp(void *arg)
{
	TimestampTz t,
				again;
	int64		secs;
	time_t		unix_secs;
	struct tm	tm;
	char		text[64];

	if (!seam_parse_timestamp(body, &t))
		return;
	check_timestamp("a parsed timestamp", true, t);
	secs = t / USECS_PER_SEC - (t % USECS_PER_SEC < 0 ? 1 : 0);
	unix_secs = (time_t) (secs + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY);
	if (gmtime_r(&unix_secs, &tm) == NULL || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
		return;					/* the UTC form has no four-digit year */
	snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int) (t - secs * USECS_PER_SEC));
	if (!seam_parse_timestamp(text, &again) || again != t)
		shim_fail("\"%s\" reads as %lld, but its UTC form \"%s\" does not read back to it",
				  body, (long long) t, text);
}

/* cJSON allocates through palloc, as in the server (seam_json_init, called from _PG_init). */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	seam_json_init();
	if (date2j(2000, 1, 1) != POSTGRES_EPOCH_JDATE || date2j(1970, 1, 1) != UNIX_EPOCH_JDATE)
		shim_fail("the date2j shim disagrees with PostgreSQL's epochs");
	return 0;
}

/* One fuzz iteration: the input is a response body as curl hands it over. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct
	{
		const char *name;
		void		(*fn) (void *);
	}			parsers[] = {
		{"seam_parse_error", run_parse_error},
		{"seam_parse_access_code(s)", run_parse_access_codes},
		{"seam_parse_devices", run_parse_devices},
		{"seam_parse_time_slots", run_parse_time_slots},
		{"seam_parse_timestamp", run_parse_timestamp},
	};
	char	   *copy = malloc(size + 1);	/* exactly sized, so ASan sees any over-read */
	size_t		i;

	memcpy(copy, data, size);
	copy[size] = '\0';
	body = copy;
	for (i = 0; i < lengthof(parsers); i++)
	{
		if (shim_try(parsers[i].fn, NULL) != 0)
			shim_fail("%s raised %s \"%s\" (%s:%d); nothing Seam sends may raise",
					  parsers[i].name, shim_last_error()->sqlstate, shim_last_error()->message,
					  shim_last_error()->filename, shim_last_error()->lineno);
		shim_memory_reset();
	}
	free(copy);
	return 0;
}
