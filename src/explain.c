/*
 * explain.c — oracode_explain_match(): every slot weighed against a booking.
 *
 * What a DBA reaches for when OC001 fires: for each slot, the nearest
 * check-in and check-out occurrences, how far each end would move, and the
 * verdict (chosen, outside tolerance, one-shot, ...). The verdicts come from
 * the same code path as oracode_match_slot, so the two never disagree.
 *
 * The device_id form weighs the device's synced slots, read through the
 * same backend-local cache as oracode_match_slot(device_id, ...), so a
 * DBA sees exactly the slots that oracode_create_code matched against.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "device_slots.h"
#include "match.h"
#include "match_slot.h"
#include "oracode.h"

PG_FUNCTION_INFO_V1(oracode_explain_match_jsonb);
PG_FUNCTION_INFO_V1(oracode_explain_match_device);

/* An interval of the given microseconds. */
static Datum
shift_datum(int64 usecs)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = usecs;
	return IntervalPGetDatum(iv);
}

/* Emit one row per slot of set into the SRF's tuplestore. */
void
explain_emit(FunctionCallInfo fcinfo, OracodeSlotSet *set, TimestampTz starts_at,
			 TimestampTz ends_at, int64 tolerance)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SlotEval   *evals = palloc0(sizeof(SlotEval) * Max(set->nslots, 1));
	int			i;

	/* the device form sets up the tuplestore before its cache lookup */
	if (rsinfo->setResult == NULL)
		InitMaterializedSRF(fcinfo, 0);
	match_slots(set, starts_at, ends_at, tolerance, evals);
	for (i = 0; i < set->nslots; i++)
	{
		OracodeSlot *slot = &set->slots[i];
		Datum		values[10];
		bool		nulls[10] = {false};
		char		zone[TZ_STRLEN_MAX + 1];

		zone_format(&set->zones[slot->zone_index].zone, zone, sizeof(zone));
		values[0] = CStringGetTextDatum(slot->name);
		values[1] = TimeADTGetDatum(slot->check_in);
		values[2] = TimeADTGetDatum(slot->check_out);
		values[3] = CStringGetTextDatum(zone);
		values[4] = CStringGetTextDatum(slot->is_24_hour ? "daily" : "hourly");
		values[5] = TimestampTzGetDatum(evals[i].start);
		values[6] = TimestampTzGetDatum(evals[i].end);
		values[7] = shift_datum(evals[i].start_shift);
		values[8] = shift_datum(evals[i].end_shift);
		values[9] = CStringGetTextDatum(slot_verdict_name(evals[i].verdict));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* oracode_explain_match(time_slots jsonb, starts_at, ends_at, max_time_rounding) */
Datum
oracode_explain_match_jsonb(PG_FUNCTION_ARGS)
{
	TimestampTz starts_at,
				ends_at;
	int64		tolerance;
	OracodeSlotSet *set;

	if (!match_args(fcinfo, &starts_at, &ends_at, &tolerance))
	{
		InitMaterializedSRF(fcinfo, 0);
		return (Datum) 0;		/* no booking to weigh: no rows */
	}
	set = PG_ARGISNULL(0) ? slots_new(0) : slots_from_jsonb(PG_GETARG_JSONB_P(0));
	explain_emit(fcinfo, set, starts_at, ends_at, tolerance);
	return (Datum) 0;
}

/*
 * oracode_explain_match(device_id uuid, starts_at, ends_at, max_time_rounding):
 * the device's synced slots. Raises OC004 for a device not in
 * oracode.devices, as oracode_match_slot(device_id, ...) does; a NULL
 * device explains nothing.
 */
Datum
oracode_explain_match_device(PG_FUNCTION_ARGS)
{
	TimestampTz starts_at,
				ends_at;
	int64		tolerance;
	bool		booking = match_args(fcinfo, &starts_at, &ends_at, &tolerance);
	pg_uuid_t  *device_id;
	OracodeSlotSet *set;
	bool		cached;

	/*
	 * The tuplestore and row type first: building them may read catalogs,
	 * which may flush the cache under a set we already looked up.
	 */
	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || !booking)
		return (Datum) 0;
	device_id = PG_GETARG_UUID_P(0);
	/* see committed slot changes, as oracode_match_slot does once per statement */
	AcceptInvalidationMessages();
	set = device_slot_set(device_id, &cached);
	if (set == NULL)
		device_unknown_error(device_id, NULL);
	explain_emit(fcinfo, set, starts_at, ends_at, tolerance);
	return (Datum) 0;
}
