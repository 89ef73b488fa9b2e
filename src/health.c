/*
 * health.c — oracode.worker_state(): a snapshot of this database's worker's
 * shared state (shmem.h) for the oracode.worker_health view;
 * oracode.worker_state_all(): every database's, for worker_health_all; and
 * oracode.worker_serves(name): is a database in oracode.database.
 *
 * The fields are copied under the spinlock in one go, so a reader never sees
 * a half-written error message or a pid from one worker with the times of
 * another. Without shared_preload_libraries there is no shared state: the
 * function still returns its one row, with preloaded = false, so that a
 * monitoring query gets an answer rather than an error.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(oracode_worker_state);
PG_FUNCTION_INFO_V1(oracode_worker_state_all);
PG_FUNCTION_INFO_V1(oracode_worker_serves);

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
	OracodeShared *oracode_shared = NULL;	/* this database's entry */

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "oracode.worker_state must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	memset(nulls, true, sizeof(nulls));
	values[0] = BoolGetDatum(oracode_shared_all != NULL);
	nulls[0] = false;

	if (oracode_shared_all != NULL)
		oracode_shared = oracode_shared_for_database(MyDatabaseId, get_database_name(MyDatabaseId));
	if (oracode_shared != NULL)
	{
		/* copy first, format after: nothing that can fail runs under a spinlock */
		SpinLockAcquire(&oracode_shared->mutex);
		memcpy(&snap, oracode_shared, sizeof(snap));
		SpinLockRelease(&oracode_shared->mutex);
		snap.last_error[sizeof(snap.last_error) - 1] = '\0';
		/* the entry was given to another database between the look-up and the copy */
		if (!snap.in_use || (snap.dboid != MyDatabaseId && OidIsValid(snap.dboid)))
			memset(&snap, 0, sizeof(snap));

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

/* worker_health_all.state of an entry, from a copy taken under its spinlock. */
static const char *
entry_state_name(const OracodeShared *snap)
{
	if (snap->worker_pid != 0)
		return snap->db_state == OC_DB_STOPPING ? "stopping" :
			snap->paused_unauthorized ? "paused" : "running";
	switch (snap->db_state)
	{
		case OC_DB_STARTING:
			return "starting";
		case OC_DB_WAITING:
			return "restarting";
		case OC_DB_NO_EXTENSION:
			return "no extension";
		case OC_DB_NO_CONNECTION:
			return "cannot connect";
		case OC_DB_NO_WORKER_SLOT:
			return "no worker slot";
		case OC_DB_DROPPED:
			return "dropped";
		case OC_DB_STOPPING:
			return "stopping";
	}
	return "unknown";
}

#define WORKER_STATE_ALL_COLS 12

/* One row of worker_state_all for a copied entry. */
static void
put_entry_row(ReturnSetInfo *rsinfo, const OracodeShared *snap, const char *state)
{
	Datum		values[WORKER_STATE_ALL_COLS];
	bool		nulls[WORKER_STATE_ALL_COLS];

	memset(nulls, true, sizeof(nulls));
	values[0] = CStringGetTextDatum(snap->dbname);
	nulls[0] = false;
	values[1] = CStringGetTextDatum(state ? state : entry_state_name(snap));
	nulls[1] = false;
	if (snap->worker_pid != 0)
	{
		values[2] = Int32GetDatum((int32) snap->worker_pid);
		nulls[2] = false;
	}
	put_time(values, nulls, 3, snap->started_at);
	put_time(values, nulls, 4, snap->last_poll_at);
	put_time(values, nulls, 5, snap->last_send_at);
	put_time(values, nulls, 6, snap->last_sync_at);
	values[7] = BoolGetDatum(snap->paused_unauthorized);
	nulls[7] = false;
	if (snap->last_error[0] != '\0')
	{
		values[8] = CStringGetTextDatum(snap->last_error);
		nulls[8] = false;
	}
	put_time(values, nulls, 9, snap->last_error_at);
	if (snap->worker_pid == 0 && snap->db_state != OC_DB_STOPPING)
		put_time(values, nulls, 10, snap->retry_at);
	put_time(values, nulls, 11, snap->last_success_at);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * oracode.worker_state_all() → one row per database in oracode.database (and
 * per database whose worker is still stopping after its name was removed):
 * (database, state, pid, started_at, last_poll_at, last_send_at,
 * last_sync_at, paused_unauthorized, last_error, last_error_at,
 * next_start_at, last_success_at). No rows without shared_preload_libraries.
 */
Datum
oracode_worker_state_all(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *error;
	List	   *names;
	ListCell   *lc;
	int			used = 0;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (oracode_shared_all == NULL)
		PG_RETURN_VOID();
	names = oracode_database_list(oracode_database, &error);
	for (i = 0; i < oracode_shared_all->ndbs; i++)
	{
		OracodeShared snap;
		OracodeShared *e = &oracode_shared_all->dbs[i];

		SpinLockAcquire(&e->mutex);
		memcpy(&snap, e, sizeof(snap));
		SpinLockRelease(&e->mutex);
		if (!snap.in_use)
			continue;
		used++;
		snap.last_error[sizeof(snap.last_error) - 1] = '\0';
		snap.dbname[NAMEDATALEN - 1] = '\0';
		put_entry_row(rsinfo, &snap, NULL);
		foreach(lc, names)
		{
			if (strcmp(strVal(lfirst(lc)), snap.dbname) == 0)
			{
				names = foreach_delete_current(names, lc);
				break;
			}
		}
	}
	/* the names left have no entry: not seen by the launcher yet, or more than there are entries */
	foreach(lc, names)
	{
		OracodeShared snap;

		memset(&snap, 0, sizeof(snap));
		strlcpy(snap.dbname, strVal(lfirst(lc)), NAMEDATALEN);
		put_entry_row(rsinfo, &snap,
					  used >= oracode_shared_all->ndbs ? "over max_databases" : "starting");
	}
	PG_RETURN_VOID();
}

/* oracode.worker_serves(name) → is name one of the databases in oracode.database? */
Datum
oracode_worker_serves(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_BOOL(oracode_database_listed(name));
}
