/*
 * worker_db.h — the worker's database access: one statement in one short
 * transaction, and the lease of what it claims (worker_db.c).
 */
#ifndef ORACODE_WORKER_DB_H
#define ORACODE_WORKER_DB_H

#include "postgres.h"
#include "access/htup.h"
#include "access/tupdesc.h"

/* Fills a statement's arguments inside its transaction (type look-ups need one). */
typedef void (*WorkerArgs) (void *arg, Datum *values, Oid *types, char *nulls);

/* Reads one row of a statement's result, in the caller's memory context. */
typedef void (*WorkerRow) (HeapTuple tuple, TupleDesc desc, int row, void *arg);

/* The most arguments a worker statement takes. */
#define WORKER_MAX_ARGS 4

extern int	worker_run(const char *sql, int nargs, WorkerArgs args, WorkerRow row, void *arg);
extern char *worker_sql(const char *sql);
extern int	worker_lease_seconds(void);

#endif							/* ORACODE_WORKER_DB_H */
