/*
 * match_slot.c — SQL entry point oracode_match_slot(time_slots jsonb, ...).
 *
 * Reporting queries call this once per booking with the same slots value, so
 * the parsed slots live in fn_extra and are reused while the JSON bytes are
 * unchanged: the per-call work is one memcmp plus the arithmetic in match.c.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#include "match.h"
#include "match_slot.h"

PG_FUNCTION_INFO_V1(oracode_match_slot_jsonb);

/* Per-call-site state kept in fn_extra. */
typedef struct JsonbMatchCache
{
	Jsonb	   *slots_json;		/* private copy of the last slots value */
	OracodeSlotSet *set;		/* parsed from slots_json */
	MatchOutput out;
} JsonbMatchCache;

/* Prepare the result tuple descriptor and eval buffer, once per call site. */
void
match_output_init(MatchOutput *out, FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc;
	MemoryContext old;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "oracode_match_slot must return a composite type");
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	out->tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
	MemoryContextSwitchTo(old);
	out->evals = NULL;
	out->evals_len = 0;
}

/* An eval buffer for n slots, allocated in the call site's context. */
SlotEval *
match_output_evals(MatchOutput *out, FunctionCallInfo fcinfo, int n)
{
	if (n > out->evals_len)
	{
		out->evals = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(SlotEval) * Max(n, 8));
		out->evals_len = Max(n, 8);
	}
	return out->evals;
}

/* An interval of the given microseconds (no days or months, like timestamptz - timestamptz would justify). */
static Interval *
usecs_interval(int64 usecs)
{
	Interval   *iv = palloc(sizeof(Interval));

	iv->month = 0;
	iv->day = 0;
	iv->time = usecs;
	return iv;
}

/* Build the oracode_slot_match row for the chosen slot. */
Datum
match_output_row(MatchOutput *out, const OracodeSlotSet *set, const OracodeSlot *slot,
				 const SlotEval *ev)
{
	Datum		values[8];
	bool		nulls[8] = {false};
	char		zone[TZ_STRLEN_MAX + 1];

	values[0] = CStringGetTextDatum(slot->name);
	values[1] = TimestampTzGetDatum(ev->start);
	values[2] = TimestampTzGetDatum(ev->end);
	values[3] = CStringGetTextDatum(slot->is_24_hour ? "daily" : "hourly");
	values[4] = IntervalPGetDatum(usecs_interval(ev->start_shift));
	values[5] = IntervalPGetDatum(usecs_interval(ev->end_shift));
	if (slot->has_user_level_id)
	{
		pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

		*u = slot->user_level_id;
		values[6] = UUIDPGetDatum(u);
	}
	else
		nulls[6] = true;
	zone_format(&set->zones[slot->zone_index].zone, zone, sizeof(zone));
	values[7] = CStringGetTextDatum(zone);
	return HeapTupleGetDatum(heap_form_tuple(out->tupdesc, values, nulls));
}

/*
 * The arguments the matching functions share: *tolerance from the rounding
 * (a malformed one raises 22023), and the booking's times. False when there
 * is no booking to weigh — a NULL or infinite time — which matches nothing.
 * A booking no code can serve (ending before it starts, over 31 days) is
 * weighed all the same, and match_slots() says why no slot serves it: a
 * report over real, dirty bookings gets NULL for such a row, not an error.
 */
bool
match_args(FunctionCallInfo fcinfo, TimestampTz *starts_at, TimestampTz *ends_at, int64 *tolerance)
{
	*tolerance = match_tolerance(PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return false;
	*starts_at = PG_GETARG_TIMESTAMPTZ(1);
	*ends_at = PG_GETARG_TIMESTAMPTZ(2);
	return !TIMESTAMP_NOT_FINITE(*starts_at) && !TIMESTAMP_NOT_FINITE(*ends_at);
}

/*
 * oracode_match_slot(time_slots jsonb, starts_at timestamptz,
 *                    ends_at timestamptz, max_time_rounding text)
 * → oracode_slot_match, or NULL when no slot qualifies.
 */
Datum
oracode_match_slot_jsonb(PG_FUNCTION_ARGS)
{
	JsonbMatchCache *cache = (JsonbMatchCache *) fcinfo->flinfo->fn_extra;
	TimestampTz starts_at,
				ends_at;
	int64		tolerance;
	Jsonb	   *slots;
	SlotEval   *evals;
	int			chosen;

	if (!match_args(fcinfo, &starts_at, &ends_at, &tolerance) || PG_ARGISNULL(0))
		PG_RETURN_NULL();
	slots = PG_GETARG_JSONB_P(0);

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(JsonbMatchCache));
		match_output_init(&cache->out, fcinfo);
		fcinfo->flinfo->fn_extra = cache;
	}
	if (cache->slots_json == NULL || VARSIZE(cache->slots_json) != VARSIZE(slots) ||
		memcmp(cache->slots_json, slots, VARSIZE(slots)) != 0)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		/* parse first: a malformed value must not leave a half-built cache */
		OracodeSlotSet *set = slots_from_jsonb(slots);

		if (cache->slots_json)
			pfree(cache->slots_json);
		cache->slots_json = palloc(VARSIZE(slots));
		memcpy(cache->slots_json, slots, VARSIZE(slots));
		cache->set = set;
		MemoryContextSwitchTo(old);
	}

	evals = match_output_evals(&cache->out, fcinfo, cache->set->nslots);
	chosen = match_slots(cache->set, starts_at, ends_at, tolerance, evals);
	if (chosen < 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(match_output_row(&cache->out, cache->set, &cache->set->slots[chosen],
									&evals[chosen]));
}
