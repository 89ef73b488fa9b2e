/*
 * request.h — a validated code request, and the pieces of writing one that
 * create_code.c (one request at a time) and booking_batch.c (the requests
 * of one statement at once) share (request.c).
 */
#ifndef ORACODE_REQUEST_H
#define ORACODE_REQUEST_H

#include "postgres.h"
#include "datatype/timestamp.h"
#include "utils/uuid.h"

/*
 * One request as it is inserted into oracode.access_codes, all but its id
 * and seam_name (which come from the id): checked and matched to a slot.
 */
typedef struct CodeRequest
{
	pg_uuid_t	device_id;
	text	   *booking_ref;	/* NULL for none */
	text	   *name;			/* NULL for none */
	TimestampTz requested_starts_at;
	TimestampTz requested_ends_at;
	TimestampTz starts_at;		/* the matched slot's */
	TimestampTz ends_at;
	char	   *slot_name;
	const char *bound;			/* "hourly" or "daily" */
	char	   *time_zone;
	bool		has_issue_at;
	TimestampTz issue_at;
	TimestampTz next_attempt_at;
	char	   *status_detail;
} CodeRequest;

extern Oid	request_id_sequence(void);
extern int64 request_next_id(Oid seq);
extern char *request_seam_name(text *name, text *ref, int64 id);
extern void request_supersede(Datum refs, Datum ids, Datum devices);
extern void request_supersede_one(text *ref, int64 id, const pg_uuid_t *device);
extern void request_replan_if_outbox_grew(void);

#endif							/* ORACODE_REQUEST_H */
