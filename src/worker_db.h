/*
 * worker_db.h — the worker's database access: one statement in one short
 * transaction, and the lease of what it claims (worker_db.c).
 */
#ifndef ORACODE_WORKER_DB_H
#define ORACODE_WORKER_DB_H

#include "postgres.h"

extern char *worker_sql(const char *sql, const char *arg);
extern int	worker_lease_seconds(void);

#endif							/* ORACODE_WORKER_DB_H */
