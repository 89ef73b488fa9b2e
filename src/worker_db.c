/*
 * worker_db.c — the worker's database access: one statement, one short
 * transaction, committed before any HTTP happens.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "guc.h"
#include "worker_db.h"

/*
 * Run sql (with $1 = arg as text when arg is not NULL) in its own
 * transaction and return the first column of the first row as a string
 * allocated in the caller's memory context (NULL for no row or NULL).
 */
char *
worker_sql(const char *sql, const char *arg)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	char	   *result = NULL;
	int			rc;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, sql);

	if (arg != NULL)
		values[0] = CStringGetTextDatum(arg);
	rc = SPI_execute_with_args(sql, arg ? 1 : 0, argtypes, values, NULL, false, 1);
	if (rc < 0)
		elog(ERROR, "oracode worker: SPI_execute failed (%d) for: %s", rc, sql);
	if (SPI_processed > 0 && SPI_tuptable != NULL)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (v != NULL)
			result = MemoryContextStrdup(caller, v);
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(caller);
	return result;
}

/* Seconds a claimed row stays ours before another turn treats it as abandoned. */
int
worker_lease_seconds(void)
{
	return oracode_request_timeout / 1000 * 2 + 60;
}
