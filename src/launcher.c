/*
 * launcher.c — the launcher: a static background worker, connected to no
 * database, that keeps one worker (worker.c) running per database named in
 * oracode.database.
 *
 * It gives each name an entry of the shared array (shmem.h) and starts a
 * dynamic background worker for it, which it is told about (bgw_notify_pid)
 * when it starts and stops. A worker that stops is started again after a
 * delay that depends on why: its database has no oracode extension (10 s),
 * it could not connect (no such database: 5 s for a minute, then 30 s), DROP
 * DATABASE stopped it (10 s, longer than the drop waits for sessions), or it
 * ended on an error (5 s, as the postmaster restarted the one static worker
 * of 0.3). A reload adds and removes databases. Being connected to none, the
 * launcher blocks no DROP DATABASE; one database's failures reach only its
 * own worker. After a crash the postmaster resets shared memory and starts
 * the launcher again, which starts every worker again.
 */
#include "postgres.h"

#include <signal.h>

#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "launcher.h"
#include "shmem.h"

#define RESTART_DELAY_MS		5000	/* after a worker ended on an error */
#define NO_EXTENSION_DELAY_MS	10000	/* a database without the extension */
#define NO_CONNECTION_FAST_TRIES 12	/* it cannot connect: every 5 s for a minute, */
#define NO_CONNECTION_SLOW_MS	30000	/* then every 30 s */
#define DROPPED_DELAY_MS		10000	/* DROP DATABASE waits 5 s for sessions to end */
#define NO_WORKER_SLOT_DELAY_MS 10000	/* max_worker_processes reached */

/* What the launcher alone knows of each entry of the shared array. */
typedef struct LauncherEntry
{
	BackgroundWorkerHandle *handle; /* the worker we started, until it stopped */
	int			connect_failures;	/* starts in a row that never connected */
	bool		slot_warned;	/* the max_worker_processes WARNING was given */
	bool		stop_sent;		/* a worker we did not start was told to stop */
} LauncherEntry;

static LauncherEntry *entries = NULL;

/* Register the launcher; called from _PG_init while preloading. */
void
oracode_launcher_register(void)
{
	BackgroundWorker bgw;

	memset(&bgw, 0, sizeof(bgw));
	/*
	 * A connection to no database (as PostgreSQL's logical replication
	 * launcher has): it gets the signal handling of a backend, whose SIGUSR1
	 * sets the latch when a worker we started starts or stops.
	 */
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	/* never on a hot standby: only a primary may send codes */
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 5;
	strlcpy(bgw.bgw_library_name, "oracode", BGW_MAXLEN);
	strlcpy(bgw.bgw_function_name, "oracode_launcher_main", BGW_MAXLEN);
	strlcpy(bgw.bgw_name, "oracode launcher", BGW_MAXLEN);
	strlcpy(bgw.bgw_type, "oracode launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&bgw);
}

/* Forget our pid in shared memory when the launcher exits. */
static void
launcher_detach(int code, Datum arg)
{
	SpinLockAcquire(&oracode_shared_all->mutex);
	if (oracode_shared_all->launcher_pid == MyProcPid)
		oracode_shared_all->launcher_pid = 0;
	SpinLockRelease(&oracode_shared_all->mutex);
}

/* Set an entry's state and when its worker is started next. */
static void
entry_set_state(OracodeShared *e, OracodeDbState state, long delay_ms)
{
	TimestampTz at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay_ms);

	SpinLockAcquire(&e->mutex);
	e->db_state = state;
	e->retry_at = at;
	SpinLockRelease(&e->mutex);
}

/* Give a free entry to database name; false when every entry is taken. */
static bool
entry_assign(const char *name)
{
	int			i;

	for (i = 0; i < oracode_shared_all->ndbs; i++)
	{
		OracodeShared *e = &oracode_shared_all->dbs[i];
		bool		taken;

		SpinLockAcquire(&e->mutex);
		taken = e->in_use;
		if (!taken)
		{
			uint32		seq = e->launch_seq;	/* kept: an old worker must not match */

			memset((char *) e + offsetof(OracodeShared, in_use), 0,
				   sizeof(OracodeShared) - offsetof(OracodeShared, in_use));
			e->in_use = true;
			e->launch_seq = seq;
			strlcpy(e->dbname, name, NAMEDATALEN);
			e->db_state = OC_DB_STARTING;
		}
		SpinLockRelease(&e->mutex);
		if (!taken)
		{
			memset(&entries[i], 0, sizeof(LauncherEntry));
			return true;
		}
	}
	return false;
}

/* Tell entry i's worker to stop: through its handle if we started it, else by its pid. */
static void
entry_stop_worker(int i)
{
	OracodeShared *e = &oracode_shared_all->dbs[i];
	pid_t		pid;

	if (entries[i].handle != NULL)
	{
		TerminateBackgroundWorker(entries[i].handle);
		return;
	}
	SpinLockAcquire(&e->mutex);
	pid = e->worker_pid;
	SpinLockRelease(&e->mutex);
	if (pid != 0 && !entries[i].stop_sent)
	{
		(void) kill(pid, SIGTERM);
		entries[i].stop_sent = true;
	}
}

/*
 * Match the entries to oracode.database: a name removed has its worker
 * stopped (the entry is freed once it has gone), a name added gets an entry.
 */
static void
launcher_reconcile(void)
{
	const char *error;
	List	   *names = oracode_database_list(oracode_database, &error);
	ListCell   *lc;
	int			i;

	for (i = 0; i < oracode_shared_all->ndbs; i++)
	{
		OracodeShared *e = &oracode_shared_all->dbs[i];
		char		name[NAMEDATALEN];
		bool		in_use;
		bool		listed = false;
		OracodeDbState state;

		SpinLockAcquire(&e->mutex);
		in_use = e->in_use;
		state = e->db_state;
		strlcpy(name, e->dbname, NAMEDATALEN);
		SpinLockRelease(&e->mutex);
		if (!in_use)
			continue;
		foreach(lc, names)
			listed |= strcmp(strVal(lfirst(lc)), name) == 0;
		if (!listed && state != OC_DB_STOPPING)
		{
			ereport(LOG, (errmsg("oracode launcher: stopping the worker of database \"%s\", no longer in oracode.database", name)));
			entry_set_state(e, OC_DB_STOPPING, 0);
			entry_stop_worker(i);
		}
		else if (listed && state == OC_DB_STOPPING)
			entry_set_state(e, OC_DB_WAITING, RESTART_DELAY_MS);	/* back in the list */
	}
	foreach(lc, names)
	{
		const char *name = strVal(lfirst(lc));
		bool		found = false;

		for (i = 0; i < oracode_shared_all->ndbs && !found; i++)
		{
			OracodeShared *e = &oracode_shared_all->dbs[i];

			SpinLockAcquire(&e->mutex);
			found = e->in_use && strcmp(e->dbname, name) == 0;
			SpinLockRelease(&e->mutex);
		}
		if (found)
			continue;
		if (!entry_assign(name))
			ereport(WARNING,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("oracode launcher: database \"%s\" is not served: oracode.database names more than oracode.max_databases (%d) databases",
							name, oracode_max_databases),
					 errhint("Raise oracode.max_databases (and max_worker_processes) and restart the server.")));
		else
			ereport(LOG, (errmsg("oracode launcher: serving database \"%s\"", name)));
	}
	oracode_database_list_free(names);
}

/* Start entry i's worker; a full max_worker_processes is said once, then tried again. */
static void
entry_start_worker(int i)
{
	OracodeShared *e = &oracode_shared_all->dbs[i];
	BackgroundWorker bgw;
	uint32		seq;
	char		name[NAMEDATALEN];

	SpinLockAcquire(&e->mutex);
	seq = ++e->launch_seq;
	e->db_state = OC_DB_STARTING;
	strlcpy(name, e->dbname, NAMEDATALEN);
	SpinLockRelease(&e->mutex);

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	/* the launcher starts it again, with a delay chosen by why it stopped */
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(bgw.bgw_library_name, "oracode", BGW_MAXLEN);
	strlcpy(bgw.bgw_function_name, "oracode_worker_main", BGW_MAXLEN);
	snprintf(bgw.bgw_name, BGW_MAXLEN, "oracode worker for database %s", name);
	strlcpy(bgw.bgw_type, "oracode worker", BGW_MAXLEN);
	bgw.bgw_main_arg = Int32GetDatum(i);
	memcpy(bgw.bgw_extra, &seq, sizeof(seq));
	bgw.bgw_notify_pid = MyProcPid;

	if (RegisterDynamicBackgroundWorker(&bgw, &entries[i].handle))
		return;
	entries[i].handle = NULL;
	entry_set_state(e, OC_DB_NO_WORKER_SLOT, NO_WORKER_SLOT_DELAY_MS);
	oracode_shared = e;			/* only to note the error on this entry */
	oracode_shared_set_error("no background worker slot free for this database's worker (max_worker_processes is %d)",
							 max_worker_processes);
	oracode_shared = NULL;
	if (!entries[i].slot_warned)
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("oracode launcher: no background worker slot free for the worker of database \"%s\"", name),
				 errdetail("All %d of max_worker_processes are in use.", max_worker_processes),
				 errhint("Raise max_worker_processes (oracode needs one for its launcher and one per database in oracode.database) and restart the server; the launcher tries again every %d seconds.",
						 NO_WORKER_SLOT_DELAY_MS / 1000)));
	entries[i].slot_warned = true;
}

/* Entry i's worker stopped: choose when to start it again from what it left in the entry. */
static void
entry_worker_stopped(int i)
{
	OracodeShared *e = &oracode_shared_all->dbs[i];
	LauncherEntry *le = &entries[i];
	bool		no_extension,
				connected,
				dropped;
	OracodeDbState state;
	char		name[NAMEDATALEN];

	SpinLockAcquire(&e->mutex);
	no_extension = e->no_extension;
	connected = e->attached_seq == e->launch_seq;
	dropped = e->dropped_at != 0;
	state = e->db_state;
	strlcpy(name, e->dbname, NAMEDATALEN);
	SpinLockRelease(&e->mutex);

	le->slot_warned = false;
	if (state == OC_DB_STOPPING)
		return;
	if (dropped)
	{
		/* still listed: it may be created again, but is not looked for often */
		entry_set_state(e, OC_DB_DROPPED, le->connect_failures++ == 0 ? DROPPED_DELAY_MS : NO_CONNECTION_SLOW_MS);
	}
	else if (!connected)
	{
		/* a database being created is found within 5 s; a missing one is not retried as often */
		long		delay = ++le->connect_failures <= NO_CONNECTION_FAST_TRIES ?
			RESTART_DELAY_MS : NO_CONNECTION_SLOW_MS;

		entry_set_state(e, OC_DB_NO_CONNECTION, delay);
		oracode_shared = e;
		oracode_shared_set_error("the worker could not connect to database \"%s\" (see the server log); trying again in %ld s",
								 name, delay / 1000);
		oracode_shared = NULL;
	}
	else if (no_extension)
	{
		le->connect_failures = 0;
		entry_set_state(e, OC_DB_NO_EXTENSION, NO_EXTENSION_DELAY_MS);
	}
	else
	{
		le->connect_failures = 0;
		entry_set_state(e, OC_DB_WAITING, RESTART_DELAY_MS);
	}
}

/*
 * Look after entry i: notice its worker stopping, free the entry of a
 * removed name, start a worker when due. Returns the milliseconds until it
 * wants looking at again (-1: only when told, by a notify or a reload).
 */
static long
entry_tend(int i, TimestampTz now)
{
	OracodeShared *e = &oracode_shared_all->dbs[i];
	LauncherEntry *le = &entries[i];
	bool		in_use;
	pid_t		pid;
	OracodeDbState state;
	TimestampTz retry_at;

	if (le->handle != NULL)
	{
		pid_t		bgw_pid;

		switch (GetBackgroundWorkerPid(le->handle, &bgw_pid))
		{
			case BGWH_POSTMASTER_DIED:
				proc_exit(1);
				break;
			case BGWH_STOPPED:
				pfree(le->handle);
				le->handle = NULL;
				entry_worker_stopped(i);
				break;
			default:
				return -1;		/* running or starting: we are told when it stops */
		}
	}
	SpinLockAcquire(&e->mutex);
	in_use = e->in_use;
	pid = e->worker_pid;
	state = e->db_state;
	retry_at = e->retry_at;
	SpinLockRelease(&e->mutex);
	if (!in_use)
		return -1;
	if (pid != 0)
	{
		/* a worker a previous launcher started: watched by its pid */
		if (state == OC_DB_STOPPING)
			entry_stop_worker(i);
		return 1000;
	}
	le->stop_sent = false;
	if (state == OC_DB_STOPPING)
	{
		SpinLockAcquire(&e->mutex);
		e->in_use = false;
		SpinLockRelease(&e->mutex);
		return -1;
	}
	if (now >= retry_at)
	{
		entry_start_worker(i);
		return le->handle != NULL ? -1 : NO_WORKER_SLOT_DELAY_MS;
	}
	return Max(1, (long) ((retry_at - now) / 1000));
}

/* The launcher's entry point. */
void
oracode_launcher_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	if (oracode_shared_all == NULL)
		proc_exit(1);
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("oracode launcher");
	entries = MemoryContextAllocZero(TopMemoryContext, sizeof(LauncherEntry) * oracode_shared_all->ndbs);
	SpinLockAcquire(&oracode_shared_all->mutex);
	oracode_shared_all->launcher_pid = MyProcPid;
	SpinLockRelease(&oracode_shared_all->mutex);
	before_shmem_exit(launcher_detach, (Datum) 0);
	ereport(LOG, (errmsg("oracode launcher started")));

	launcher_reconcile();
	for (;;)
	{
		TimestampTz now;
		long		wait_ms = -1;
		int			i;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			launcher_reconcile();
		}
		now = GetCurrentTimestamp();
		for (i = 0; i < oracode_shared_all->ndbs; i++)
		{
			long		ms = entry_tend(i, now);

			if (ms >= 0 && (wait_ms < 0 || ms < wait_ms))
				wait_ms = ms;
		}
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | (wait_ms >= 0 ? WL_TIMEOUT : 0),
						 wait_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
