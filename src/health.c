/*
 * health.c — oracode.worker_state(): a snapshot of the worker's shared state
 * (shmem.h) for the oracode.worker_health view.
 *
 * The fields are copied under the spinlock in one go, so a reader never sees
 * a half-written error message or a pid from one worker with the times of
 * another. Without shared_preload_libraries there is no shared state: the
 * function still returns its one row, with preloaded = false, so that a
 * monitoring query gets an answer rather than an error.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "shmem.h"

PG_FUNCTION_INFO_V1(oracode_worker_state);

#define WORKER_STATE_COLS 10

/* A timestamp column: NULL when the event never happened (zero in shared memory). */
static void
put_time(Datum *values, bool *nulls, int i, TimestampTz t)
{
	values[i] = TimestampTzGetDatum(t);
	nulls[i] = (t == 0);
}

/*
 * oracode.worker_state() → (preloaded, pid, started_at, last_poll_at,
 * last_send_at, last_sync_at, paused_unauthorized, last_error, last_error_at,
 * last_success_at)
 */
Datum
oracode_worker_state(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[WORKER_STATE_COLS];
	bool		nulls[WORKER_STATE_COLS];
	OracodeShared snap;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "oracode.worker_state must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	memset(nulls, true, sizeof(nulls));
	values[0] = BoolGetDatum(oracode_shared != NULL);
	nulls[0] = false;

	if (oracode_shared != NULL)
	{
		/* copy first, format after: nothing that can fail runs under a spinlock */
		SpinLockAcquire(&oracode_shared->mutex);
		memcpy(&snap, oracode_shared, sizeof(snap));
		SpinLockRelease(&oracode_shared->mutex);
		snap.last_error[sizeof(snap.last_error) - 1] = '\0';

		if (snap.worker_pid != 0)
		{
			values[1] = Int32GetDatum((int32) snap.worker_pid);
			nulls[1] = false;
		}
		put_time(values, nulls, 2, snap.started_at);
		put_time(values, nulls, 3, snap.last_poll_at);
		put_time(values, nulls, 4, snap.last_send_at);
		put_time(values, nulls, 5, snap.last_sync_at);
		values[6] = BoolGetDatum(snap.paused_unauthorized);
		nulls[6] = false;
		if (snap.last_error[0] != '\0')
		{
			values[7] = CStringGetTextDatum(snap.last_error);
			nulls[7] = false;
		}
		put_time(values, nulls, 8, snap.last_error_at);
		put_time(values, nulls, 9, snap.last_success_at);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
