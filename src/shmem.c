/*
 * shmem.c — the workers' shared state and waking a worker when work commits.
 *
 * The state is an array with one entry per database served (shmem.h), sized
 * by oracode.max_databases at server start. A backend finds its database's
 * entry by OID (the worker writes it once connected); the wake path does so
 * without catalog access, since it runs while the transaction commits.
 *
 * Backends wake the worker by setting its latch, but only once the
 * transaction that queued the work has committed: a row the worker cannot
 * see yet would only make it spin. The trigger on oracode.access_codes marks
 * the transaction; one transaction callback, registered at load, does the
 * wake on commit (registering per call would grow the callback list).
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(oracode_wake_worker_trigger);

OracodeSharedAll *oracode_shared_all = NULL;
OracodeShared *oracode_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool wake_at_commit = false;

/* Bytes for the array of oracode.max_databases entries. */
static Size
oracode_shmem_size(void)
{
	return add_size(offsetof(OracodeSharedAll, dbs),
					mul_size(sizeof(OracodeShared), oracode_max_databases));
}

/* Ask the postmaster for room for our array. */
static void
oracode_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(oracode_shmem_size()));
}

/* Create or attach to the array. */
static void
oracode_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	oracode_shared_all = ShmemInitStruct("oracode", oracode_shmem_size(), &found);
	if (!found)
	{
		int			i;

		memset(oracode_shared_all, 0, oracode_shmem_size());
		SpinLockInit(&oracode_shared_all->mutex);
		oracode_shared_all->ndbs = oracode_max_databases;
		for (i = 0; i < oracode_max_databases; i++)
			SpinLockInit(&oracode_shared_all->dbs[i].mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * The entry of a database: the one a worker of dboid connected from, else
 * (no worker connected yet) the one assigned to dbname when that is given.
 * The entry can be reassigned at any time (its name removed from
 * oracode.database): callers copy what they read under its spinlock.
 */
OracodeShared *
oracode_shared_for_database(Oid dboid, const char *dbname)
{
	static int	last = -1;		/* the wake path asks for the same database every time */
	OracodeShared *by_name = NULL;
	int			i;

	if (oracode_shared_all == NULL)
		return NULL;
	for (i = -1; i < oracode_shared_all->ndbs; i++)
	{
		OracodeShared *e;
		bool		oid_match,
					name_match;

		if (i == -1 && (last < 0 || last >= oracode_shared_all->ndbs))
			continue;
		e = &oracode_shared_all->dbs[i == -1 ? last : i];
		SpinLockAcquire(&e->mutex);
		oid_match = e->in_use && OidIsValid(dboid) && e->dboid == dboid;
		name_match = e->in_use && dbname != NULL && strcmp(e->dbname, dbname) == 0;
		SpinLockRelease(&e->mutex);
		if (oid_match)
		{
			last = e - oracode_shared_all->dbs;
			return e;
		}
		if (name_match && by_name == NULL)
			by_name = e;
	}
	return by_name;
}

/* Install the hooks; call from _PG_init while preloading. */
void
oracode_shmem_register(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = oracode_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = oracode_shmem_startup;
}

/* Set the latch of this database's worker, if there is a worker. */
void
oracode_wake_worker_now(void)
{
	Latch	   *latch = NULL;
	OracodeShared *e;

	/* the worker's own claims fire the trigger too; it must not wake itself */
	if (oracode_shared != NULL)
		return;
	e = oracode_shared_for_database(MyDatabaseId, NULL);
	if (e == NULL)
		return;
	SpinLockAcquire(&e->mutex);
	if (e->in_use && e->dboid == MyDatabaseId && e->worker_pid != 0 && e->worker_pid != MyProcPid)
		latch = e->worker_latch;
	SpinLockRelease(&e->mutex);
	if (latch)
		SetLatch(latch);
}

/* On commit of a transaction that queued work, wake the worker. */
static void
wake_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (wake_at_commit)
				oracode_wake_worker_now();
			wake_at_commit = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction is committed elsewhere; the fallback poll finds it */
			wake_at_commit = false;
			break;
		default:
			break;
	}
}

/* Register the commit callback once per process. */
void
oracode_register_wake_callback(void)
{
	static bool registered = false;

	if (!registered)
	{
		RegisterXactCallback(wake_xact_callback, NULL);
		registered = true;
	}
}

/* Statement trigger on oracode.access_codes: wake the worker at commit. */
Datum
oracode_wake_worker_trigger(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "oracode.wake_worker() must be called as a trigger");
	oracode_register_wake_callback();
	wake_at_commit = true;
	return PointerGetDatum(NULL);
}

/* Record a 2xx answer from Seam: the worker's current error, if any, is over. */
void
oracode_shared_note_success(void)
{
	TimestampTz now;

	if (oracode_shared == NULL)
		return;
	now = GetCurrentTimestamp();	/* a system call: not while holding the spinlock */
	SpinLockAcquire(&oracode_shared->mutex);
	oracode_shared->last_success_at = now;
	oracode_shared->last_error[0] = '\0';
	oracode_shared->last_error_at = 0;
	SpinLockRelease(&oracode_shared->mutex);
}

/* Record the worker's current error for the health view (never a secret). */
void
oracode_shared_set_error(const char *fmt,...)
{
	va_list		args;
	char		buf[256];
	TimestampTz now;

	if (oracode_shared == NULL)
		return;
	va_start(args, fmt);
	vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	now = GetCurrentTimestamp();	/* a system call: not while holding the spinlock */
	SpinLockAcquire(&oracode_shared->mutex);
	strlcpy(oracode_shared->last_error, buf, sizeof(oracode_shared->last_error));
	oracode_shared->last_error_at = now;
	SpinLockRelease(&oracode_shared->mutex);
}
