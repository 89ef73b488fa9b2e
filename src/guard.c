/*
 * guard.c — oracode.guard_sent_code(): the BEFORE UPDATE OR DELETE row
 * trigger on oracode.access_codes that keeps a request immutable once it
 * may exist at Seam (doc/reference.md, "Immutability"; OC005), and stamps updated_at.
 *
 * The worker updates a request several times on its way (sending, unset,
 * set, ...) and records answers in batches, so this runs for every row it
 * touches: it is C, with no statement of its own.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "access_codes.h"
#include "code_status.h"
#include "oracode.h"

PG_FUNCTION_INFO_V1(oracode_guard_sent_code);

/* Whether column name differs between the two rows (NULLs compare equal). */
static bool
column_changed(HeapTuple oldtup, HeapTuple newtup, TupleDesc desc, const char *name)
{
	int			attnum = access_codes_attnum(desc, name);
	Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);
	bool		oldnull,
				newnull;
	Datum		o = heap_getattr(oldtup, attnum, desc, &oldnull);
	Datum		n = heap_getattr(newtup, attnum, desc, &newnull);

	if (oldnull || newnull)
		return oldnull != newnull;
	/* uuid, timestamptz and text: equal values have equal bytes */
	return !datum_image_eq(o, n, att->attbyval, att->attlen);
}

/* The row's status as a C string. */
static char *
status_of(HeapTuple tuple, TupleDesc desc)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, access_codes_attnum(desc, "status"), desc, &isnull);

	return isnull ? "" : TextDatumGetCString(d);
}

/* newtup with updated_at set to the current clock. */
static HeapTuple
stamp_updated_at(HeapTuple newtup, TupleDesc desc)
{
	int			col = access_codes_attnum(desc, "updated_at");
	Datum		value = TimestampTzGetDatum(GetCurrentTimestamp());
	bool		isnull = false;

	return heap_modify_tuple_by_cols(newtup, desc, 1, &col, &value, &isnull);
}

/* BEFORE UPDATE OR DELETE ... FOR EACH ROW on oracode.access_codes. */
Datum
oracode_guard_sent_code(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	oldtup;
	char	   *status;
	bool		isnull;
	int64		id;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_BEFORE(td->tg_event) || TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("oracode.guard_sent_code() must be called as a BEFORE UPDATE OR DELETE row trigger")));
	desc = RelationGetDescr(td->tg_relation);
	oldtup = td->tg_trigtuple;
	status = status_of(oldtup, desc);
	id = DatumGetInt64(heap_getattr(oldtup, access_codes_attnum(desc, "id"), desc, &isnull));

	/* never sent: anything goes */
	if (code_status_in(status, CODE_SET_UNSENT))
	{
		if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
			return PointerGetDatum(stamp_updated_at(td->tg_newtuple, desc));
		return PointerGetDatum(oldtup);
	}
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_ORACODE_IMMUTABLE),
				 errmsg("access code request " INT64_FORMAT " cannot be deleted once sent", id),
				 errdetail("Its status is %s; Oracode codes cannot be changed or deleted once created.", status),
				 errhint("Leave the row; cancel only requests that are still queued.")));
	if (column_changed(oldtup, td->tg_newtuple, desc, "device_id") ||
		column_changed(oldtup, td->tg_newtuple, desc, "starts_at") ||
		column_changed(oldtup, td->tg_newtuple, desc, "ends_at") ||
		(!heap_attisnull(oldtup, access_codes_attnum(desc, "seam_access_code_id"), desc) &&
		 column_changed(oldtup, td->tg_newtuple, desc, "seam_access_code_id")))
		ereport(ERROR,
				(errcode(ERRCODE_ORACODE_IMMUTABLE),
				 errmsg("access code request " INT64_FORMAT " is immutable once sent", id),
				 errdetail("Its status is %s; its device, times and Seam id can no longer change.", status),
				 errhint("Request a new code with oracode_create_code(); the same booking_ref supersedes the old one.")));
	return PointerGetDatum(stamp_updated_at(td->tg_newtuple, desc));
}
