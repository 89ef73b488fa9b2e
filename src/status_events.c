/*
 * status_events.c — oracode.record_status_change(): the row trigger on
 * oracode.access_codes that writes oracode.access_code_events, one row per
 * status change, the insert of a request being its first (NULL → queued).
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
#include "spi_plans.h"

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

/*
 * AFTER INSERT (for requests created here, see the trigger's WHEN clause)
 * or AFTER UPDATE OF status, FOR EACH ROW.
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
			return PointerGetDatum(NULL);
	}
	else
		return PointerGetDatum(NULL);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	spi_plan_run(&event_plan, values, nulls, 0);
	SPI_finish();
	return PointerGetDatum(NULL);
}
