/*
 * shmem.h — state shared between the launcher, the workers and backends
 * (only when preloaded).
 *
 * One OracodeShared per database the workers serve, in an array of
 * oracode.max_databases entries (OracodeSharedAll). The launcher assigns an
 * entry to each name in oracode.database; that database's worker publishes its
 * pid, latch and progress there, and backends of that database read it for
 * worker_health and set its latch at commit.
 */
#ifndef ORACODE_SHMEM_H
#define ORACODE_SHMEM_H

#include "postgres.h"
#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/spin.h"

/* What the launcher last did for a database (worker_health_all.state when no worker runs). */
typedef enum OracodeDbState
{
	OC_DB_STARTING = 0,			/* registered, not connected yet */
	OC_DB_WAITING,				/* the worker stopped; started again at retry_at */
	OC_DB_NO_EXTENSION,			/* the worker found no oracode extension */
	OC_DB_NO_CONNECTION,		/* the worker could not connect (no such database?) */
	OC_DB_NO_WORKER_SLOT,		/* max_worker_processes reached */
	OC_DB_DROPPED,				/* DROP DATABASE stopped the worker */
	OC_DB_STOPPING				/* the name left oracode.database */
} OracodeDbState;

typedef struct OracodeShared
{
	slock_t		mutex;			/* protects the fields below */
	/* set by the launcher */
	bool		in_use;			/* assigned to a name in oracode.database */
	char		dbname[NAMEDATALEN];
	uint32		launch_seq;		/* bumped at each start; the worker checks it */
	OracodeDbState db_state;
	TimestampTz retry_at;		/* when a stopped worker is started again */
	/* set by the worker (and by DROP DATABASE for dropped_at) */
	Oid			dboid;			/* the database, once a worker connected */
	uint32		attached_seq;	/* launch_seq of the last worker that connected */
	bool		no_extension;	/* the last worker exited: no extension there */
	TimestampTz dropped_at;		/* DROP DATABASE asked the worker to go */
	pid_t		worker_pid;		/* 0 when no worker runs */
	Latch	   *worker_latch;	/* set to wake the worker */
	bool		paused_unauthorized;	/* Seam answered 401: sending is paused */
	TimestampTz started_at;
	TimestampTz last_poll_at;
	TimestampTz last_send_at;
	TimestampTz last_sync_at;
	TimestampTz last_error_at;
	char		last_error[256];	/* the current error: cleared by Seam's next success */
	TimestampTz last_success_at;	/* Seam's last 2xx answer to the worker */
} OracodeShared;

typedef struct OracodeSharedAll
{
	slock_t		mutex;			/* protects launcher_pid */
	pid_t		launcher_pid;	/* 0 when the launcher does not run */
	int			ndbs;			/* entries in dbs[] (oracode.max_databases) */
	OracodeShared dbs[FLEXIBLE_ARRAY_MEMBER];
} OracodeSharedAll;

/* Every entry; NULL when not preloaded. */
extern OracodeSharedAll *oracode_shared_all;
/* In a worker: its database's entry. NULL elsewhere. */
extern OracodeShared *oracode_shared;

extern void oracode_shmem_register(void);
extern void oracode_register_wake_callback(void);
extern void oracode_wake_worker_now(void);
extern OracodeShared *oracode_shared_for_database(Oid dboid, const char *dbname);
extern void oracode_shared_set_error(const char *fmt,...) pg_attribute_printf(1, 2);
extern void oracode_shared_note_success(void);

#endif							/* ORACODE_SHMEM_H */
