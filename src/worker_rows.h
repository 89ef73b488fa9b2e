/*
 * worker_rows.h — the worker's typed contract with SQL: what the claims
 * hand it, and what it hands back to the lifecycle's apply functions, as
 * rows of the composite types oracode.create_claim, oracode.seam_code,
 * oracode.create_result, oracode.reconcile_result and oracode.poll_result
 * (worker_rows.c; the SQL side is the install script's "The code
 * lifecycle").
 */
#ifndef ORACODE_WORKER_ROWS_H
#define ORACODE_WORKER_ROWS_H

#include "postgres.h"
#include "datatype/timestamp.h"

#include "seam_json.h"

/* A create, or a reconciliation (reconcile: then only id, device_id and seam_name), claimed. */
typedef struct CreateClaim
{
	bool		reconcile;
	int64		id;
	char	   *device_id;
	char	   *seam_name;
	TimestampTz starts_at;
	TimestampTz ends_at;
	char	   *time_zone;
	bool		daily;			/* bound = 'daily' */
} CreateClaim;

/* A code claimed for a poll. */
typedef struct PollClaim
{
	int64		id;
	char	   *seam_access_code_id;
} PollClaim;

/* What came of one create; see oracode.create_result for the outcomes. */
typedef enum CreateOutcome
{
	CREATE_CREATED,
	CREATE_FAILED,
	CREATE_RETRY,
	CREATE_UNKNOWN,
	CREATE_PAUSED
} CreateOutcome;

typedef struct CreateResult
{
	int64		id;
	CreateOutcome outcome;
	bool		sent;			/* false: it never left the worker */
	TimestampTz sent_at;		/* when it left; 0 if unknown or never */
	bool		rate_limited;	/* Seam answered 429 to it */
	const char *request_id;		/* NULL if none */
	const char *error;
	int			retry_after;	/* seconds, -1 if none */
	const char *answered_code_id;	/* an unreadable 200's code id, NULL if none */
	int			http_status;	/* a refusal's, 0 if none */
	const char *error_type;
	const char *error_message;
	const char *validation_errors_json;
	const SeamAccessCode *access_code;	/* the code made, CREATE_CREATED only */
} CreateResult;

/* One device's code list for the reconciliation of requests ids. */
typedef struct ReconcileResult
{
	const char *device_id;
	int64	   *ids;
	int			nids;
	bool		ok;				/* false: the list could not be read whole (error says why) */
	const char *error;
	int			retry_after;
	const SeamAccessCode **codes;	/* the device's codes, every page */
	int			ncodes;
} ReconcileResult;

/* What a poll learnt of one code. */
typedef struct PollResult
{
	int64		id;
	bool		found;
	const char *error;			/* the list could not be read whole; NULL if it was */
	int			retry_after;
	const SeamAccessCode *access_code;	/* when found */
} PollResult;

extern int	worker_claim_creates(int batch, int rate, int lease_seconds, bool creates_only,
								 CreateClaim **claims);
extern int	worker_claim_polls(int batch, int lease_seconds, PollClaim **claims);
extern void worker_apply_creates(const CreateResult *results, int n);
extern void worker_apply_reconciles(const ReconcileResult *results, int n);
extern void worker_apply_polls(const PollResult *results, int n);

#endif							/* ORACODE_WORKER_ROWS_H */
