/*
 * shmem.h — state shared between the worker and backends (only when preloaded).
 */
#ifndef ORACODE_SHMEM_H
#define ORACODE_SHMEM_H

#include "postgres.h"
#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/spin.h"

typedef struct OracodeShared
{
	slock_t		mutex;			/* protects the fields below */
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

extern OracodeShared *oracode_shared;

extern void oracode_shmem_register(void);
extern void oracode_register_wake_callback(void);
extern void oracode_wake_worker_now(void);
extern void oracode_shared_set_error(const char *fmt,...) pg_attribute_printf(1, 2);
extern void oracode_shared_note_success(void);

#endif							/* ORACODE_SHMEM_H */
