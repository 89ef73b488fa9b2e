/*
 * cancel_code.c — oracode_cancel_code(id): cancel a request still queued.
 *
 * The rules (a sent code cannot be cancelled: OC005) live in SQL, in
 * oracode.cancel_request(), which only the tables' owner may run. This
 * entry point runs it as that owner with search_path pinned (owner.c) and
 * returns the row with its PIN only to a caller who may read it: the PMS
 * role that cancels bookings has no SELECT on the PIN column.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"

#include "owner.h"

PG_FUNCTION_INFO_V1(oracode_cancel_code);

/* oracode_cancel_code(id bigint) → oracode.access_codes, the request as cancelled (or already so). */
Datum
oracode_cancel_code(PG_FUNCTION_ARGS)
{
	Oid			caller = GetUserId();
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];
	OwnerScope	owner;
	Datum		row;
	bool		isnull;
	int			rc;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	args[0] = PG_GETARG_DATUM(0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	owner_enter(&owner);
	rc = SPI_execute_with_args("SELECT oracode.cancel_request($1)", 1, argtypes, args, NULL, false, 1);
	owner_leave(&owner);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "oracode.cancel_request() failed: %s", SPI_result_code_string(rc));
	row = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
	{
		SPI_finish();
		PG_RETURN_NULL();
	}
	row = SPI_datumTransfer(row, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(access_code_row_for_role(row, caller));
}
