/*
 * create_code.c — oracode_create_code(): queue one code request (doc/reference.md, "oracode_create_code").
 *
 * A PMS calls this from a row trigger on its bookings table, once per
 * booking, inside the booking's own transaction; what it costs is added to
 * every booking. So the queueing path is C: the device's slots come from
 * match_device.c's backend cache, the matching is match.c's, and each
 * statement it runs is planned once per backend (SPI_keepplan) instead of
 * once per call. The function is not SECURITY DEFINER: it switches to the
 * tables' owner itself, with search_path pinned (owner.c), so that it knows
 * its caller and returns the PIN only to a caller who may read it.
 *
 * Rare paths stay in SQL: the OC001 message with its nearest-slots hint is
 * built by oracode.raise_no_slot(), which runs only when no slot fits.
 *
 * Called from the booking trigger, a request that passed every check is
 * handed to booking_batch.c instead of being written here, and written with
 * the other requests of its statement when that statement ends; what can
 * still be refused after the insert (a code_limit) is written here at once.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "booking_batch.h"
#include "device_slots.h"
#include "match.h"
#include "oracode.h"
#include "owner.h"
#include "request.h"
#include "seam_text.h"
#include "spi_plans.h"

PG_FUNCTION_INFO_V1(oracode_create_code);

/* The arguments of oracode_create_code, in SQL order. */
enum
{
	ARG_DEVICE, ARG_STARTS, ARG_ENDS, ARG_NAME, ARG_REF, ARG_ROUNDING, ARG_ISSUE_AT
};

/* The slot chosen for the booking, copied out of the slot cache. */
typedef struct ChosenSlot
{
	char	   *slot_name;
	const char *bound;
	char		time_zone[TZ_STRLEN_MAX + 1];
	TimestampTz starts_at;
	TimestampTz ends_at;
} ChosenSlot;

/*
 * Only a capped device's row is locked, so that concurrent requests for it
 * count its live codes one at a time; the limit is re-read under the lock.
 */
static SpiPlan device_lock_plan = {
	"SELECT code_limit FROM oracode.devices WHERE device_id = $1 FOR NO KEY UPDATE",
	1, {UUIDOID}
};

/*
 * Idempotency: the booking's latest live request, if it is for the same
 * device and the same matched times. Looked up by booking_ref alone (a
 * booking has a handful of requests at most) and compared in the select
 * list, so that no plan can AND in the device's index, which holds every
 * request the lock ever had.
 */
static SpiPlan existing_plan = {
	"SELECT a, a.device_id = $2 AND a.starts_at = $3 AND a.ends_at = $4 FROM oracode.access_codes a "
	"WHERE a.booking_ref = $1 AND a.superseded_by IS NULL "
	"AND a.status <> ALL (oracode.statuses('final')) ORDER BY a.id DESC",
	4, {TEXTOID, UUIDOID, TIMESTAMPTZOID, TIMESTAMPTZOID}
};

static SpiPlan insert_plan = {
	"INSERT INTO oracode.access_codes AS a (id, device_id, booking_ref, name, "
	"requested_starts_at, requested_ends_at, starts_at, ends_at, slot_name, bound, time_zone, "
	"issue_at, seam_name, next_attempt_at, status_detail) "
	"VALUES ($14, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $15, $12, $13) RETURNING a",
	15, {UUIDOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID,
	INT8OID, TEXTOID}
};

/*
 * The device's codes valid at some time the new one is (its window
 * overlaps the new window), the new one included: a lock's capacity is
 * what it holds at once, so codes for next season do not count today.
 * A sent code's window is Seam's where Seam reported it.
 */
static SpiPlan live_plan = {
	"SELECT count(*) FROM oracode.access_codes a WHERE a.device_id = $1 "
	"AND a.status <> ALL (oracode.statuses('final')) "
	"AND coalesce(a.seam_ends_at, a.ends_at) > now() "
	"AND coalesce(a.seam_starts_at, a.starts_at) < $3 AND coalesce(a.seam_ends_at, a.ends_at) > $2",
	3, {UUIDOID, TIMESTAMPTZOID, TIMESTAMPTZOID}
};

/* The device's text form, for messages. */
static char *
uuid_text(pg_uuid_t *id)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(id)));
}

/* A timestamptz in the session's DateStyle and TimeZone, as format('%s') prints it. */
static char *
timestamptz_text(TimestampTz t)
{
	return DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(t)));
}

/*
 * The device's row and slots from the backend's slot cache (one hash lookup
 * once loaded); raises OC004 for an unknown or removed device and OC002 for
 * one that cannot take offline codes. The set is only valid until the next
 * catalog access: the caller copies what it needs first.
 */
static OracodeSlotSet *
device_for_request(pg_uuid_t *device_id)
{
	OracodeSlotSet *set;
	bool		cached;

	/* committed device and slot changes of other sessions, even mid-transaction */
	AcceptInvalidationMessages();
	set = device_slot_set(device_id, &cached);
	if (set == NULL || set->device->removed)
		device_unknown_error(device_id, set ? set->device : NULL);
	if (!set->device->can_program_offline)
		ereport(ERROR,
				(errcode(ERRCODE_ORACODE_NOT_OFFLINE),
				 errmsg("device \"%s\" cannot program offline access codes", set->device->display_name),
				 errdetail("Seam reports can_program_offline_access_codes = false for device %s.",
						   uuid_text(device_id)),
				 errhint("Check the lock's Oracode setup in Seam, then run oracode_sync_devices().")));
	return set;
}

/* Match the booking against the set; false when no slot fits. */
static bool
choose_slot(OracodeSlotSet *set, TimestampTz starts_at, TimestampTz ends_at, int64 tolerance,
			ChosenSlot *chosen)
{
	OracodeSlot *slot;
	SlotEval   *evals = palloc(sizeof(SlotEval) * Max(set->nslots, 1));
	int			i = match_slots(set, starts_at, ends_at, tolerance, evals);

	if (i < 0)
		return false;
	slot = &set->slots[i];
	chosen->slot_name = pstrdup(slot->name);
	chosen->bound = slot->is_24_hour ? "daily" : "hourly";
	zone_format(&set->zones[slot->zone_index].zone, chosen->time_zone, sizeof(chosen->time_zone));
	chosen->starts_at = evals[i].start;
	chosen->ends_at = evals[i].end;
	return true;
}

/* Raise OC001 through oracode.raise_no_slot(), which builds the nearest-slots hint. */
static void
raise_no_slot(pg_uuid_t *device_id, TimestampTz starts_at, TimestampTz ends_at, Datum rounding,
			  bool rounding_null)
{
	Oid			types[4] = {UUIDOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID};
	Datum		values[4] = {UUIDPGetDatum(device_id), TimestampTzGetDatum(starts_at),
	TimestampTzGetDatum(ends_at), rounding};
	char		nulls[4] = {' ', ' ', ' ', rounding_null ? 'n' : ' '};

	SPI_execute_with_args("SELECT oracode.raise_no_slot(d, $2, $3, $4) FROM oracode.devices d "
						  "WHERE d.device_id = $1", 4, types, values, nulls, false, 0);
	elog(ERROR, "oracode.raise_no_slot() returned without raising OC001");
}

/* The whole row of the first result column, copied out of SPI for the caller. */
static Datum
result_row(void)
{
	bool		isnull;
	Datum		row = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

	Assert(!isnull);
	return SPI_datumTransfer(row, false, -1);
}

/* Raise OC003 when the device now holds more codes valid alongside the new one than its code_limit. */
static void
check_code_limit(pg_uuid_t *device_id, const char *display_name, TimestampTz starts_at,
				 TimestampTz ends_at)
{
	Datum		arg = UUIDPGetDatum(device_id);
	Datum		live_args[3] = {arg, TimestampTzGetDatum(starts_at), TimestampTzGetDatum(ends_at)};
	bool		isnull;
	int32		code_limit;
	int64		live;

	spi_plan_run(&device_lock_plan, &arg, NULL, 1);
	if (SPI_processed == 0)
		device_unknown_error(device_id, NULL);
	code_limit = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull)
		return;					/* the cap was lifted meanwhile */
	spi_plan_run(&live_plan, live_args, NULL, 1);
	live = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (live > code_limit)
		ereport(ERROR,
				(errcode(ERRCODE_ORACODE_CODE_LIMIT),
				 errmsg("device \"%s\" has reached its code limit", display_name),
				 errdetail("The device holds " INT64_FORMAT " codes valid at the same time as this one and its code_limit is %d.",
						   live - 1, code_limit),
				 errhint("Raise oracode.devices.code_limit if the lock has room, or wait until codes end.")));
}

/*
 * The request's idempotency lookup: the existing live row of the same
 * booking, device and matched times, copied out of SPI, if there is one.
 * *any_live says whether the booking has live requests at all (the ones a
 * new request supersedes).
 */
static bool
existing_request(const CodeRequest *req, Datum *row, bool *any_live)
{
	Datum		args[4] = {PointerGetDatum(req->booking_ref), UUIDPGetDatum(&req->device_id),
	TimestampTzGetDatum(req->starts_at), TimestampTzGetDatum(req->ends_at)};
	uint64		i;

	spi_plan_run(&existing_plan, args, NULL, 0);
	*any_live = SPI_processed > 0;
	for (i = 0; i < SPI_processed; i++)
	{
		bool		same,
					isnull;

		same = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		if (!same || isnull)
			continue;
		*row = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull),
								 false, -1);
		return true;
	}
	return false;
}

/*
 * Insert the request as one row now, superseding the booking's live
 * requests if it has any; returns the row, copied out of SPI.
 */
static Datum
insert_request(const CodeRequest *req, bool supersede)
{
	Datum		values[15];
	char		nulls[15];
	int64		new_id = request_next_id(request_id_sequence());
	Datum		row;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = UUIDPGetDatum(&req->device_id);
	values[1] = PointerGetDatum(req->booking_ref);
	nulls[1] = req->booking_ref ? ' ' : 'n';
	values[2] = PointerGetDatum(req->name);
	nulls[2] = req->name ? ' ' : 'n';
	values[3] = TimestampTzGetDatum(req->requested_starts_at);
	values[4] = TimestampTzGetDatum(req->requested_ends_at);
	values[5] = TimestampTzGetDatum(req->starts_at);
	values[6] = TimestampTzGetDatum(req->ends_at);
	values[7] = CStringGetTextDatum(req->slot_name);
	values[8] = CStringGetTextDatum(req->bound);
	values[9] = CStringGetTextDatum(req->time_zone);
	values[10] = TimestampTzGetDatum(req->issue_at);
	nulls[10] = req->has_issue_at ? ' ' : 'n';
	values[11] = TimestampTzGetDatum(req->next_attempt_at);
	values[12] = CStringGetTextDatum(req->status_detail);
	values[13] = Int64GetDatum(new_id);
	values[14] = CStringGetTextDatum(request_seam_name(req->name, req->booking_ref, new_id));
	spi_plan_run(&insert_plan, values, nulls, 0);
	row = result_row();
	request_replan_if_outbox_grew();

	if (supersede)
		request_supersede_one(req->booking_ref, new_id, &req->device_id);
	return row;
}

/* The owner's scope of one oracode_create_code() call, entered at its first statement. */
typedef struct CreateScope
{
	OwnerScope	owner;
	bool		entered;
} CreateScope;

/*
 * Enter the owner's scope (user switched, search_path pinned, index paths
 * only) before the first statement a request runs; once per call.
 */
static void
enter_owner(CreateScope *scope)
{
	if (scope->entered)
		return;
	owner_enter(&scope->owner);
	owner_prefer_index_paths();
	scope->entered = true;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

/*
 * The work of oracode_create_code: the request's row, or NULL (*isnull)
 * when it was buffered for the end of the statement. The checks and the
 * match are C over the backend's slot cache (which loads itself as the
 * owner); the owner's scope is entered only for statements: a refusal's
 * nearest-slots hint, the idempotency lookup, the insert. A request the
 * booking trigger buffers runs none, and so costs no switch of user and
 * settings per booking.
 */
static Datum
create_code_request(FunctionCallInfo fcinfo, bool *isnull, CreateScope *scope)
{
	pg_uuid_t  *device_id;
	TimestampTz starts_at,
				ends_at,
				now = GetCurrentTransactionStartTimestamp();
	bool		has_issue_at = !PG_ARGISNULL(ARG_ISSUE_AT);
	TimestampTz issue_at = has_issue_at ? PG_GETARG_TIMESTAMPTZ(ARG_ISSUE_AT) : 0;
	int64		tolerance;
	OracodeSlotSet *set;
	char	   *display_name;
	bool		capped;
	ChosenSlot	slot;
	CodeRequest req;
	BatchOffer *offer = booking_batch_offer(fcinfo->context);
	Datum		row;
	bool		matched;
	bool		any_live = false;

	if (PG_ARGISNULL(ARG_DEVICE))
		device_unknown_error(NULL, NULL);
	device_id = PG_GETARG_UUID_P(ARG_DEVICE);
	set = device_for_request(device_id);

	/* validates the arguments (22023), as oracode_match_slot does */
	if (PG_ARGISNULL(ARG_STARTS) || PG_ARGISNULL(ARG_ENDS))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("booking %s must not be null", PG_ARGISNULL(ARG_STARTS) ? "starts_at" : "ends_at")));
	starts_at = PG_GETARG_TIMESTAMPTZ(ARG_STARTS);
	ends_at = PG_GETARG_TIMESTAMPTZ(ARG_ENDS);
	match_check_booking(starts_at, ends_at);
	tolerance = match_tolerance(PG_ARGISNULL(ARG_ROUNDING) ? NULL : PG_GETARG_TEXT_PP(ARG_ROUNDING));

	matched = choose_slot(set, starts_at, ends_at, tolerance, &slot);
	display_name = pstrdup(set->device->display_name);
	capped = set->device->has_code_limit;
	set = NULL;					/* SPI below may flush the cache */

	if (ends_at <= now)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ends_at is in the past"),
				 errdetail("The booking ended at %s.", timestamptz_text(ends_at))));
	if (!matched)
	{
		enter_owner(scope);
		raise_no_slot(device_id, starts_at, ends_at, PG_GETARG_DATUM(ARG_ROUNDING), PG_ARGISNULL(ARG_ROUNDING));
	}

	req.device_id = *device_id;
	req.booking_ref = PG_ARGISNULL(ARG_REF) ? NULL : PG_GETARG_TEXT_PP(ARG_REF);
	req.name = PG_ARGISNULL(ARG_NAME) ? NULL : PG_GETARG_TEXT_PP(ARG_NAME);
	req.requested_starts_at = starts_at;
	req.requested_ends_at = ends_at;
	req.starts_at = slot.starts_at;
	req.ends_at = slot.ends_at;
	req.slot_name = slot.slot_name;
	req.bound = slot.bound;
	req.time_zone = slot.time_zone;
	req.has_issue_at = has_issue_at;
	req.issue_at = issue_at;
	req.next_attempt_at = has_issue_at && issue_at > now ? issue_at : now;
	req.status_detail = has_issue_at && issue_at > now ?
		psprintf("requested; held until %s", timestamptz_text(issue_at)) : "requested";

	/*
	 * An earlier request of this booking still in a buffer is written first,
	 * to keep the order (the write enters the owner's scope itself).
	 */
	if (req.booking_ref)
		booking_batch_flush_ref(req.booking_ref);
	/* a capped device counts its live codes at each request: never buffered */
	if (offer != NULL && offer->batch && !capped && booking_batch_add(&req))
	{
		*isnull = true;
		return (Datum) 0;
	}

	enter_owner(scope);
	/* a booking without live requests (a new one, mostly) has nothing to supersede */
	if (req.booking_ref == NULL || !existing_request(&req, &row, &any_live))
	{
		row = insert_request(&req, req.booking_ref != NULL && any_live &&
							 !(offer != NULL && offer->keep_siblings));
		if (capped)
			check_code_limit(device_id, display_name, req.starts_at, req.ends_at);
	}
	*isnull = false;
	return row;
}

/*
 * oracode_create_code(device_id uuid, starts_at timestamptz, ends_at timestamptz,
 *     name text, booking_ref text, max_time_rounding text, issue_at timestamptz)
 * → oracode.access_codes: the queued request (or the existing identical one),
 * its PIN shown only to a caller who may SELECT oracode.access_codes.code.
 *
 * Called by the booking trigger with a BatchOffer as its context, it may
 * instead buffer the checked request for the end of the statement
 * (booking_batch.c) and return NULL, which the trigger ignores.
 */
Datum
oracode_create_code(PG_FUNCTION_ARGS)
{
	Oid			caller = GetUserId();
	CreateScope scope = {{0}, false};
	Datum		row;
	bool		isnull;

	MemoryContext cxt = CurrentMemoryContext;

	/*
	 * Every refusal, raised here or by oracode.raise_no_slot(), goes out
	 * through this one place: the device's and slots' names it quotes come
	 * from Seam and are escaped for the log, and it names the booking, so
	 * that a failing bulk import says which one.
	 */
	PG_TRY();
	{
		row = create_code_request(fcinfo, &isnull, &scope);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		seam_error_data_for_log(edata);
		if (!PG_ARGISNULL(ARG_REF))
		{
			char	   *ref = seam_text_for_log(text_to_cstring(PG_GETARG_TEXT_PP(ARG_REF)));

			edata->detail = edata->detail ?
				psprintf("%s Booking reference: %s.", edata->detail, ref) :
				psprintf("Booking reference: %s.", ref);
		}
		ReThrowError(edata);
	}
	PG_END_TRY();
	if (scope.entered)
	{
		SPI_finish();
		owner_leave(&scope.owner);
	}
	if (isnull)
		PG_RETURN_NULL();
	/* the booking trigger (which offers a batch) drops the row unread: no need to mask it */
	if (booking_batch_offer(fcinfo->context) != NULL)
		PG_RETURN_DATUM(row);
	PG_RETURN_DATUM(access_code_row_for_role(row, caller));
}
