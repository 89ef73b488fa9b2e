/*
 * code_status.h — the statuses of an access code request, defined once.
 *
 * This table is the one list of status names: C compares against it, and
 * SQL reads the same sets through oracode.statuses(kind) (the CHECK on
 * access_codes.status, the partial indexes, the claims, the views). The
 * transitions between them are drawn in doc/architecture.md, "The state
 * machine"; the worker's side of them is src/worker_send.c and
 * src/worker_poll.c, the SQL side the section "The code lifecycle" of the
 * install script.
 */
#ifndef ORACODE_CODE_STATUS_H
#define ORACODE_CODE_STATUS_H

#include "postgres.h"

typedef enum CodeStatus
{
	CODE_QUEUED,				/* waiting to be sent */
	CODE_SENDING,				/* claimed by the worker; a create may be in flight */
	CODE_UNSET,					/* Seam's statuses: the code exists at Seam */
	CODE_SETTING,
	CODE_SET,
	CODE_REMOVING,
	CODE_UNKNOWN,
	CODE_FAILED,				/* final: no code for the guest */
	CODE_EXPIRED,				/* final: its end has passed */
	CODE_CANCELLED,				/* final: never sent */
	CODE_STATUS_COUNT
} CodeStatus;

/* The sets SQL asks for by name (oracode.statuses(kind)). */
#define CODE_SET_ALL		0x3FF
#define CODE_SET_AT_SEAM	((1 << CODE_UNSET) | (1 << CODE_SETTING) | (1 << CODE_SET) | \
							 (1 << CODE_REMOVING) | (1 << CODE_UNKNOWN))
#define CODE_SET_FINAL		((1 << CODE_FAILED) | (1 << CODE_EXPIRED) | (1 << CODE_CANCELLED))
#define CODE_SET_LIVE		(CODE_SET_ALL & ~CODE_SET_FINAL)
#define CODE_SET_PENDING	((1 << CODE_QUEUED) | (1 << CODE_SENDING) | (1 << CODE_UNSET) | \
							 (1 << CODE_SETTING))
#define CODE_SET_UNSENT		((1 << CODE_QUEUED) | (1 << CODE_CANCELLED))

extern const char *code_status_name(CodeStatus s);
extern bool code_status_parse(const char *name, CodeStatus *s);
extern bool code_status_in(const char *name, int set);
extern const char *code_status_of_seam(const char *seam_status);

#endif							/* ORACODE_CODE_STATUS_H */
