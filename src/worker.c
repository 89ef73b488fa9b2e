/*
 * worker.c — main loop of the oracode background worker.
 *
 * One worker per database in oracode.database, started by the launcher
 * (launcher.c) with the index of its database's entry in shared memory. It
 * exits quietly when its database has no oracode extension (the launcher
 * tries again later). Each turn of the
 * loop claims work in a short transaction, does the HTTP with no transaction
 * open, and records the answers in another short transaction. It sleeps on
 * its latch, which committing backends set, with the next due row (or the
 * poll interval) as the fallback timeout. Unexpected errors end the process,
 * and the launcher starts it again.
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "owner.h"
#include "seam_http.h"
#include "seam_text.h"
#include "shmem.h"
#include "sync.h"
#include "worker.h"
#include "worker_db.h"
#include "worker_poll.h"
#include "worker_rate.h"
#include "worker_send.h"

/*
 * seam_http's answer hook: keep the health view's current error in step with
 * Seam. A 2xx clears it; a timeout, a lost connection or a 5xx sets it, so
 * that a Seam that hangs or fails shows while it lasts, not only in each
 * row's last_error. Other answers (a 4xx refusing one request, a 429 asking
 * one lock to wait) say nothing about Seam's health. A code list's answer
 * also tells whether Seam holds the whole workspace back (worker_rate.c):
 * every page of every poll and reconciliation passes here.
 */
static void
worker_note_answer(const SeamRequest *req)
{
	const SeamResponse *resp = &req->resp;

	if (strcmp(req->path, "/access_codes/list") == 0)
		worker_rate_note(resp);

	if (resp->status >= 200 && resp->status < 300)
		oracode_shared_note_success();
	else if (resp->status >= 500)
		oracode_shared_set_error("Seam answered HTTP %ld to %s", resp->status, req->path);
	else if (resp->status == 0 && !resp->too_large)
		oracode_shared_set_error("%s%s (%s)", resp->timed_out ? "timeout: " : "no response: ",
								 resp->error[0] ? resp->error : "connection failed", req->path);
}

/* Forget our latch in shared memory when the process exits. */
static void
worker_detach(int code, Datum arg)
{
	if (oracode_shared == NULL)
		return;
	SpinLockAcquire(&oracode_shared->mutex);
	if (oracode_shared->worker_pid == MyProcPid)
	{
		oracode_shared->worker_pid = 0;
		oracode_shared->worker_latch = NULL;
	}
	SpinLockRelease(&oracode_shared->mutex);
}

/*
 * Take our database's entry: the name to connect to, if the launcher still
 * wants this start (the name may have been removed meanwhile, or a restarted
 * launcher started another worker). Exits quietly otherwise.
 */
static void
worker_claim_entry(Datum arg, char *dbname)
{
	int			index = DatumGetInt32(arg);
	uint32		seq;
	bool		wanted;

	memcpy(&seq, MyBgworkerEntry->bgw_extra, sizeof(seq));
	if (oracode_shared_all == NULL || index < 0 || index >= oracode_shared_all->ndbs)
		proc_exit(0);
	oracode_shared = &oracode_shared_all->dbs[index];
	SpinLockAcquire(&oracode_shared->mutex);
	wanted = oracode_shared->in_use && oracode_shared->launch_seq == seq &&
		oracode_shared->worker_pid == 0;
	strlcpy(dbname, oracode_shared->dbname, NAMEDATALEN);
	SpinLockRelease(&oracode_shared->mutex);
	if (!wanted)
		proc_exit(0);
}

/* Publish our pid and latch so backends can wake us, and our database for them to find. */
static void
worker_attach(void)
{
	TimestampTz now = GetCurrentTimestamp();	/* not under the spinlock */
	uint32		seq;

	if (oracode_shared == NULL)
		return;
	memcpy(&seq, MyBgworkerEntry->bgw_extra, sizeof(seq));
	SpinLockAcquire(&oracode_shared->mutex);
	if (!oracode_shared->in_use || oracode_shared->launch_seq != seq || oracode_shared->worker_pid != 0)
	{
		/* the launcher gave the entry away, or another worker took it, while we connected */
		SpinLockRelease(&oracode_shared->mutex);
		oracode_shared = NULL;
		proc_exit(0);
	}
	oracode_shared->worker_pid = MyProcPid;
	oracode_shared->worker_latch = MyLatch;
	oracode_shared->dboid = MyDatabaseId;
	oracode_shared->attached_seq = seq;
	/* what the launcher noted about starting us is over */
	if (oracode_shared->db_state == OC_DB_NO_CONNECTION || oracode_shared->db_state == OC_DB_NO_WORKER_SLOT)
	{
		oracode_shared->last_error[0] = '\0';
		oracode_shared->last_error_at = 0;
	}
	oracode_shared->no_extension = false;
	oracode_shared->dropped_at = 0;
	oracode_shared->started_at = now;
	oracode_shared->paused_unauthorized = false;
	SpinLockRelease(&oracode_shared->mutex);
	before_shmem_exit(worker_detach, (Datum) 0);
	seam_http_answer_hook = worker_note_answer;
}

/* No oracode extension here (any more): say so to the launcher and end quietly. */
static void
worker_exit_no_extension(void)
{
	SpinLockAcquire(&oracode_shared->mutex);
	oracode_shared->no_extension = true;
	SpinLockRelease(&oracode_shared->mutex);
	proc_exit(0);
}

/* Note the time of a finished step (and the pause state) for the health view. */
static void
worker_note(TimestampTz *field, bool paused)
{
	TimestampTz now = GetCurrentTimestamp();	/* not under the spinlock */

	if (oracode_shared == NULL)
		return;
	SpinLockAcquire(&oracode_shared->mutex);
	if (field)
		*field = now;
	oracode_shared->paused_unauthorized = paused;
	SpinLockRelease(&oracode_shared->mutex);
}

/*
 * What extension_ready() found, and whether that still holds. It is looked
 * up again only after pg_extension or pg_namespace changed (a syscache
 * invalidation), or after a step failed: the worker wakes at every commit
 * that queues a request, and a query in a transaction of its own on each
 * wake-up cost more than the rest of an idle turn.
 */
static bool ext_known = false;
static bool ext_ready = false;

/* Syscache callback: an extension or a schema changed, so look again. */
static void
extension_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	ext_known = false;
}

/* Is the extension installed in our database (and not being created)? */
static bool
extension_ready(void)
{
	MemoryContext cxt = CurrentMemoryContext;

	/*
	 * Take in the invalidations sent since the last turn (they may clear
	 * ext_known): an empty transaction does that, as an idle backend does.
	 */
	StartTransactionCommand();
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	if (!ext_known)
	{
		/* set first: an invalidation that arrives during the query clears it again */
		ext_known = true;
		ext_ready = worker_sql("SELECT 1 FROM pg_catalog.pg_extension e "
							   "JOIN pg_catalog.pg_namespace n ON n.nspname = 'oracode' "
							   "WHERE e.extname = 'oracode'") != NULL;
	}
	return ext_ready;
}

/* Write fetched devices in one short transaction. */
static void
worker_sync_apply(const SyncFetch *fetch)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "oracode: storing synced devices");
	sync_apply_devices(fetch);
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
}

/*
 * Refresh devices and slots: the HTTP with no transaction open, then the
 * writes in a short one. A failing sync (Seam down, bad key) must not stop
 * the sending of codes, so its ERROR is caught, logged and remembered.
 */
static void
worker_sync(MemoryContext loop_cxt)
{
	PG_TRY();
	{
		SyncFetch  *fetch;

		pgstat_report_activity(STATE_RUNNING, "oracode: fetching devices from Seam");
		fetch = sync_fetch_devices();
		worker_sync_apply(fetch);
		MemoryContextSwitchTo(loop_cxt);
		worker_note(oracode_shared ? &oracode_shared->last_sync_at : NULL, false);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(loop_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		/* it may have failed because the extension went away */
		ext_known = false;
		MemoryContextSwitchTo(loop_cxt);
		/*
		 * The texts may quote Seam's (a name, an error message): escaped, so
		 * that they cannot forge log lines. sync.c escapes what it quotes,
		 * and escaping twice changes nothing; this covers the rest.
		 */
		seam_error_data_for_log(edata);
		ereport(WARNING,
				(errmsg("oracode worker: device sync failed: %s", edata->message),
				 edata->detail ? errdetail_internal("%s", edata->detail) : 0));
		oracode_shared_set_error("device sync failed: %s", edata->message);
	}
	PG_END_TRY();
}

/*
 * Milliseconds to sleep: until the next due row, at most the poll interval;
 * while Seam holds the workspace (a 429), until that hold ends.
 */
static long
worker_sleep_ms(void)
{
	char	   *due = worker_sql("SELECT oracode.worker_next_due()");
	double		secs = due ? strtod(due, NULL) : oracode_poll_interval;

	if (secs > oracode_poll_interval)
		secs = oracode_poll_interval;
	if (secs < 0.05)
		secs = 0.05;
	return Max((long) (secs * 1000), worker_rate_workspace_wait_ms());
}

/* What the worker's turns carry from one to the next. */
typedef struct WorkerTurns
{
	MemoryContext loop_cxt;
	bool		recovered;		/* worker_recover() has run */
	TimestampTz last_sync;
} WorkerTurns;

/*
 * One turn with a key and the extension in place: recover once, sync when
 * due, a send cycle and a poll cycle. Returns whether anything was done;
 * sets *paused when Seam refused the key, and *sleep_ms when idle.
 */
static bool
worker_turn(WorkerTurns *t, bool *paused, long *sleep_ms)
{
	bool		unauthorized = false;
	bool		did_work = false;

	if (!t->recovered)
	{
		worker_sql("SELECT oracode.worker_recover()");
		t->recovered = true;
	}
	if (oracode_sync_interval > 0 &&
		TimestampDifferenceExceeds(t->last_sync, GetCurrentTimestamp(), oracode_sync_interval * 1000))
	{
		t->last_sync = GetCurrentTimestamp();
		worker_sync(t->loop_cxt);
	}
	if (worker_send_cycle(&unauthorized))
	{
		did_work = true;
		worker_note(oracode_shared ? &oracode_shared->last_send_at : NULL, unauthorized);
	}
	if (!unauthorized && worker_poll_cycle(&unauthorized))
	{
		did_work = true;
		worker_note(oracode_shared ? &oracode_shared->last_poll_at : NULL, unauthorized);
	}
	if (unauthorized)
	{
		/* a wrong key fails every request alike: wait for the configuration to change */
		*paused = true;
		worker_send_release_claim();
		worker_note(NULL, true);
		oracode_shared_set_error("Seam refused the API key (HTTP 401, or missing_workspace_id for a personal access token); sending paused until the configuration is reloaded");
		ereport(LOG, (errmsg("oracode worker: Seam refused the API key; sending paused"),
					  errhint("Fix oracode.api_key and reload the configuration.")));
	}
	if (!did_work && !*paused)
	{
		/*
		 * The claims' UPDATEs fire the statement trigger that wakes the
		 * worker at commit, even when they touched no row, so our latch is
		 * set by ourselves and would end the sleep at once, every turn.
		 * Clear it before reading when the next row is due: a backend
		 * committing after this sets it again, and one that committed
		 * before has its row seen by worker_next_due().
		 */
		ResetLatch(MyLatch);
		*sleep_ms = worker_sleep_ms();
	}
	return did_work;
}

/* The worker's entry point. */
void
oracode_worker_main(Datum arg)
{
	MemoryContext loop_cxt;
	WorkerTurns turn = {NULL, false, 0};
	bool		paused = false;
	bool		have_key;
	bool		no_key_noted = false;
	TimestampTz key_checked_at = 0;
	char		dbname[NAMEDATALEN];

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	worker_claim_entry(arg, dbname);
	BackgroundWorkerInitializeConnection(dbname, NULL, 0);
	oracode_key_database = MemoryContextStrdup(TopMemoryContext, dbname);

	/*
	 * The worker runs as a superuser: a search_path from ALTER DATABASE ...
	 * SET (which the database's owner may set) must not steer what its
	 * statements resolve, so it is pinned over every other source.
	 */
	SetConfigOption("search_path", ORACODE_PINNED_SEARCH_PATH, PGC_SUSET, PGC_S_OVERRIDE);
	pgstat_report_appname("oracode worker");
	worker_attach();

	CacheRegisterSyscacheCallback(EXTENSIONOID, extension_changed, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, extension_changed, (Datum) 0);
	/* a database without the extension costs no process: the launcher looks again later */
	if (!extension_ready())
		worker_exit_no_extension();
	ereport(LOG, (errmsg("oracode worker started in database \"%s\"", dbname)));

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "oracode worker loop", ALLOCSET_DEFAULT_SIZES);
	turn.loop_cxt = loop_cxt;
	have_key = seam_http_have_key();
	for (;;)
	{
		bool		did_work = false;
		long		sleep_ms = (long) oracode_poll_interval * 1000;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* a new key or URL may fix what made us pause */
			paused = false;
			seam_http_reset();
			worker_note(NULL, false);
			have_key = seam_http_have_key();
			no_key_noted = false;
		}
		MemoryContextSwitchTo(loop_cxt);

		/*
		 * Without a key there is nothing to do, however often committing
		 * backends wake us: no catalog look-up, no transaction. The key
		 * (or its file) is looked at again on a reload, and once a poll
		 * interval in case the file appeared without one.
		 */
		if (!have_key && TimestampDifferenceExceeds(key_checked_at, GetCurrentTimestamp(),
													oracode_poll_interval * 1000))
		{
			key_checked_at = GetCurrentTimestamp();
			have_key = seam_http_have_key();
		}
		/*
		 * The last batch's answers are recorded while the next batch's
		 * creates are on the wire (worker_send.c); a turn that sends nothing
		 * (no key, say, after a reload removed it) records them first.
		 */
		if (!have_key || paused)
			worker_send_flush();
		if (!have_key)
		{
			if (!no_key_noted)
				oracode_shared_set_error("oracode.api_key is not set");
			no_key_noted = true;
			sleep_ms = (long) oracode_poll_interval * 1000;
		}
		else if (!extension_ready())
			worker_exit_no_extension();
		else if (!paused)
			did_work = worker_turn(&turn, &paused, &sleep_ms);
		MemoryContextReset(loop_cxt);
		pgstat_report_activity(STATE_IDLE, NULL);

		if (did_work && !paused)
			sleep_ms = 0;
		if (sleep_ms > 0)
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
