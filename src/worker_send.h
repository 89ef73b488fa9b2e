/*
 * worker_send.h — one turn of sending creates and reconciling uncertain
 * ones (worker_send.c).
 */
#ifndef ORACODE_WORKER_SEND_H
#define ORACODE_WORKER_SEND_H

#include "postgres.h"

/* one cycle; true if there was work */
extern bool worker_send_cycle(bool *unauthorized);
extern void worker_send_flush(void);
extern void worker_send_release_claim(void);

#endif							/* ORACODE_WORKER_SEND_H */
