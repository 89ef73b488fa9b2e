/*
 * status_events.c — oracode.record_status_change(): the row trigger on
 * oracode.access_codes that writes oracode.access_code_events, one row per
 * status change, the insert of a request being its first (NULL → queued),
 * and hands each change to status_notify.c for NOTIFY at commit.
 *
 * Every request a booking queues fires it, and so does every status the
 * worker records, so it is C with its one statement planned once per
 * backend. It has no pinned search_path: that statement names its table
 * with its schema and takes typed parameters, so no name in it can be
 * resolved through the caller's search_path.
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"

#include "access_codes.h"
#include "booking_batch.h"
#include "code_status.h"
#include "spi_plans.h"
#include "status_notify.h"

PG_FUNCTION_INFO_V1(oracode_record_status_change);

static SpiPlan event_plan = {
	"INSERT INTO oracode.access_code_events (access_code_id, old_status, new_status, detail) "
	"VALUES ($1, $2, $3, $4)",
	4, {INT8OID, TEXTOID, TEXTOID, TEXTOID}
};

/* A column of the access_codes row by name. */
static Datum
column(HeapTuple tuple, TupleDesc desc, const char *name, bool *isnull)
{
	return SPI_getbinval(tuple, desc, access_codes_attnum(desc, name), isnull);
}

/* Whether the row has its PIN (its value is not read). */
static bool
has_pin(HeapTuple tuple, TupleDesc desc)
{
	bool		isnull;

	column(tuple, desc, "code", &isnull);
	return !isnull;
}

/* Whether an update gave the row a PIN, or another one (the values are compared, never kept). */
static bool
pin_arrived(HeapTuple oldtuple, HeapTuple newtuple, TupleDesc desc)
{
	bool		old_isnull,
				new_isnull;
	Datum		old_code = column(oldtuple, desc, "code", &old_isnull);
	Datum		new_code = column(newtuple, desc, "code", &new_isnull);

	if (new_isnull)
		return false;
	if (old_isnull)
		return true;
	return !DatumGetBool(DirectFunctionCall2Coll(texteq, C_COLLATION_OID, old_code, new_code));
}

/* Announce the change from old_status (NULL for a new request) to the row's status at commit. */
static void
notify_change(HeapTuple row, TupleDesc desc, Datum old_status, bool old_isnull, Datum new_status)
{
	bool		id_isnull,
				ref_isnull,
				device_isnull;
	Datum		id = column(row, desc, "id", &id_isnull);
	Datum		ref = column(row, desc, "booking_ref", &ref_isnull);
	Datum		device = column(row, desc, "device_id", &device_isnull);

	status_notify_add(DatumGetInt64(id), ref_isnull ? NULL : DatumGetTextPP(ref),
					  DatumGetUUIDP(device), old_isnull ? NULL : DatumGetTextPP(old_status),
					  DatumGetTextPP(new_status), has_pin(row, desc));
}

/*
 * AFTER INSERT (for requests created here, see the trigger's WHEN clause)
 * or AFTER UPDATE OF status, code, FOR EACH ROW.
 */
Datum
oracode_record_status_change(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	row;
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	bool		isnull;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_AFTER(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("oracode.record_status_change() must be called as an AFTER row trigger")));
	desc = RelationGetDescr(td->tg_relation);
	row = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;

	values[0] = column(row, desc, "id", &isnull);
	values[2] = column(row, desc, "status", &isnull);
	values[3] = column(row, desc, "status_detail", &isnull);
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		notify_change(row, desc, (Datum) 0, true, values[2]);
		/* a request written with its bookings' statement came with its history row */
		if (booking_batch_wrote_event(DatumGetInt64(values[0])))
			return PointerGetDatum(NULL);
		nulls[1] = 'n';
		values[1] = (Datum) 0;
		if (isnull)
			values[3] = CStringGetTextDatum("requested");
	}
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		bool		old_isnull;

		nulls[3] = isnull ? 'n' : ' ';
		values[1] = column(td->tg_trigtuple, desc, "status", &old_isnull);
		/* status is NOT NULL; equal means byte for byte, as with any deterministic collation */
		if (DatumGetBool(DirectFunctionCall2Coll(texteq, C_COLLATION_OID, values[1], values[2])))
		{
			/*
			 * No change, no history row; but a PIN that reaches a code
			 * already set (Seam reported it set before assigning it), or
			 * replaces its PIN, is announced as set to set: the PMS hands
			 * out the PIN it waits for.
			 */
			if (pin_arrived(td->tg_trigtuple, row, desc) &&
				strcmp(TextDatumGetCString(values[2]), code_status_name(CODE_SET)) == 0)
				notify_change(row, desc, values[1], false, values[2]);
			return PointerGetDatum(NULL);
		}
		notify_change(row, desc, values[1], false, values[2]);
	}
	else
		return PointerGetDatum(NULL);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	spi_plan_run(&event_plan, values, nulls, 0);
	SPI_finish();
	return PointerGetDatum(NULL);
}
