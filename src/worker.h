/*
 * worker.h — the background worker that sends requests and polls codes for
 * one database: its main loop (worker.c), started by the launcher.
 */
#ifndef ORACODE_WORKER_H
#define ORACODE_WORKER_H

#include "postgres.h"

extern PGDLLEXPORT void oracode_worker_main(Datum arg);

#endif							/* ORACODE_WORKER_H */
