/*
 * worker.h — the background worker that sends requests and polls codes.
 */
#ifndef ORACODE_WORKER_H
#define ORACODE_WORKER_H

#include "postgres.h"

extern void oracode_worker_register(void);
extern PGDLLEXPORT void oracode_worker_main(Datum arg);

/* worker_db.c: one statement in one short transaction */
extern char *worker_sql(const char *sql, const char *arg);

/* worker_send.c / worker_poll.c: one cycle each; true if there was work */
extern bool worker_send_cycle(bool *unauthorized);
extern void worker_send_flush(void);
extern void worker_send_release_claim(void);
extern bool worker_poll_cycle(bool *unauthorized);

/* how long a claimed row is ours before it counts as abandoned */
extern int	worker_lease_seconds(void);

#endif							/* ORACODE_WORKER_H */
