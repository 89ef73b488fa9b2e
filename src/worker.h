/*
 * worker.h — the background worker that sends requests and polls codes:
 * its registration and main loop (worker.c).
 */
#ifndef ORACODE_WORKER_H
#define ORACODE_WORKER_H

#include "postgres.h"

extern void oracode_worker_register(void);
extern PGDLLEXPORT void oracode_worker_main(Datum arg);

#endif							/* ORACODE_WORKER_H */
