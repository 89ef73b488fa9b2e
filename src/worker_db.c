/*
 * worker_db.c — the worker's database access: one statement, one short
 * transaction, committed before any HTTP happens.
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "guc.h"
#include "worker_db.h"

/*
 * Run sql in its own transaction: its nargs arguments filled by args (in
 * the transaction), each row of its result handed to row (in the caller's
 * memory context, the tuple still the transaction's: row copies what it
 * keeps). Returns the number of rows.
 */
int
worker_run(const char *sql, int nargs, WorkerArgs args, WorkerRow row, void *arg)
{
	MemoryContext caller = CurrentMemoryContext;
	Datum		values[WORKER_MAX_ARGS];
	Oid			types[WORKER_MAX_ARGS];
	char		nulls[WORKER_MAX_ARGS];
	uint64		n = 0;
	uint64		i;
	int			rc;

	Assert(nargs <= WORKER_MAX_ARGS);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, sql);

	memset(nulls, ' ', sizeof(nulls));
	if (nargs > 0)
		args(arg, values, types, nulls);
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "oracode worker: SPI_execute failed (%d) for: %s", rc, sql);
	if (SPI_tuptable != NULL)
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		n = SPI_processed;
		for (i = 0; i < n && row != NULL; i++)
			row(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, (int) i, arg);
		MemoryContextSwitchTo(spi);
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(caller);
	return (int) n;
}

/* WorkerRow: keep the first column of the first row as text. */
static void
first_value(HeapTuple tuple, TupleDesc desc, int row, void *arg)
{
	if (row == 0)
		*(char **) arg = SPI_getvalue(tuple, desc, 1);
}

/*
 * Run sql (no arguments) in its own transaction and return the first
 * column of the first row as a string in the caller's memory context
 * (NULL for no row or NULL).
 */
char *
worker_sql(const char *sql)
{
	char	   *result = NULL;

	worker_run(sql, 0, NULL, first_value, &result);
	return result;
}

/* Seconds a claimed row stays ours before another turn treats it as abandoned. */
int
worker_lease_seconds(void)
{
	return oracode_request_timeout / 1000 * 2 + 60;
}
