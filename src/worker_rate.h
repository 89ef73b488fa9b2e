/*
 * worker_rate.h — how long Seam's 429s hold the worker back (worker_rate.c).
 */
#ifndef ORACODE_WORKER_RATE_H
#define ORACODE_WORKER_RATE_H

#include "postgres.h"

#include "seam_http.h"

/* heed the answer to a code list (called by the worker's answer hook) */
extern void worker_rate_note(const SeamResponse *resp);
/* milliseconds until the workspace may be asked again; 0 when it may now */
extern long worker_rate_workspace_wait_ms(void);

#endif							/* ORACODE_WORKER_RATE_H */
