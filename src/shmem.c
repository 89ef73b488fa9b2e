/*
 * shmem.c — the worker's shared state and waking it when work commits.
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

#include "shmem.h"

PG_FUNCTION_INFO_V1(oracode_wake_worker_trigger);

OracodeShared *oracode_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool wake_at_commit = false;

/* Ask the postmaster for room for our struct. */
static void
oracode_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(OracodeShared)));
}

/* Create or attach to the struct. */
static void
oracode_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	oracode_shared = ShmemInitStruct("oracode", sizeof(OracodeShared), &found);
	if (!found)
	{
		memset(oracode_shared, 0, sizeof(OracodeShared));
		SpinLockInit(&oracode_shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
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

/* Set the worker's latch, if there is a worker. */
void
oracode_wake_worker_now(void)
{
	Latch	   *latch = NULL;

	if (oracode_shared == NULL)
		return;
	SpinLockAcquire(&oracode_shared->mutex);
	/* the worker's own claims fire the trigger too; it must not wake itself */
	if (oracode_shared->worker_pid != 0 && oracode_shared->worker_pid != MyProcPid)
		latch = oracode_shared->worker_latch;
	SpinLockRelease(&oracode_shared->mutex);
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
