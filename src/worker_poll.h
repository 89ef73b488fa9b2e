/*
 * worker_poll.h — one turn of polling the status of codes in flight
 * (worker_poll.c).
 */
#ifndef ORACODE_WORKER_POLL_H
#define ORACODE_WORKER_POLL_H

#include "postgres.h"

/* one cycle; true if there was work */
extern bool worker_poll_cycle(bool *unauthorized);

#endif							/* ORACODE_WORKER_POLL_H */
