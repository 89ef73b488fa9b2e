/*
 * drop_database.c — DROP DATABASE of a database a worker serves stops that
 * worker at once.
 *
 * DROP DATABASE waits at most 5 seconds for the other sessions of the
 * database to end and then fails ("being accessed by other users"); a worker
 * is such a session and ends only when told. The object access hook runs in
 * the dropping backend before that wait, so it tells the worker (SIGTERM, as
 * pg_terminate_backend does) and notes the drop, which keeps the launcher
 * from starting a new worker there while the drop goes on.
 */
#include "postgres.h"

#include <signal.h>

#include "catalog/objectaccess.h"
#include "catalog/pg_database.h"
#include "utils/timestamp.h"

#include "drop_database.h"
#include "shmem.h"

static object_access_hook_type prev_object_access_hook = NULL;

/* Stop the worker of database dboid, if one serves it. */
static void
stop_worker_of(Oid dboid)
{
	OracodeShared *e = oracode_shared_for_database(dboid, NULL);
	TimestampTz now = GetCurrentTimestamp();	/* not under the spinlock */
	pid_t		pid = 0;

	if (e == NULL)
		return;
	SpinLockAcquire(&e->mutex);
	if (e->in_use && e->dboid == dboid)
	{
		e->dropped_at = now;
		pid = e->worker_pid;
	}
	SpinLockRelease(&e->mutex);
	if (pid != 0 && kill(pid, SIGTERM) != 0)
		ereport(DEBUG1, (errmsg_internal("oracode: could not signal worker %d: %m", (int) pid)));
}

/* Object access hook: on DROP DATABASE, stop its worker. */
static void
drop_database_access(ObjectAccessType access, Oid classId, Oid objectId, int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (access == OAT_DROP && classId == DatabaseRelationId)
		stop_worker_of(objectId);
}

/* Install the hook; call from _PG_init while preloading. */
void
oracode_drop_database_hook_install(void)
{
	prev_object_access_hook = object_access_hook;
	object_access_hook = drop_database_access;
}
