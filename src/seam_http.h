/*
 * seam_http.h — the one module that speaks HTTP to Seam (libcurl multi).
 *
 * Requests are POSTs of JSON to oracode.api_url + path with the bearer key.
 * Several run at once over kept-alive connections; the caller's interrupts
 * are checked while waiting, and nothing curl allocated survives an ERROR.
 */
#ifndef ORACODE_SEAM_HTTP_H
#define ORACODE_SEAM_HTTP_H

#include "postgres.h"
#include "lib/stringinfo.h"

/* What came back (or did not) for one request. */
typedef struct SeamResponse
{
	long		status;			/* HTTP status; 0 when no response arrived */
	int			curl_code;		/* CURLcode; 0 (CURLE_OK) when a response arrived */
	bool		timed_out;		/* connect or total timeout hit */
	bool		too_large;		/* an answer came but was larger than oracode.max_response_size */
	bool		maybe_sent;		/* the request may have reached Seam (false only when it surely did not) */
	int			retry_after;	/* seconds from a Retry-After header, -1 if none */
	char		request_id[64]; /* seam-request-id response header, "" if none */
	char		error[256];		/* curl's error text when status is 0, else "" */
	StringInfoData body;		/* response body, palloc'd, NUL-terminated */
	/* the API key and any bearer token are masked in request_id, error and body */
} SeamResponse;

typedef struct SeamRequest
{
	const char *path;			/* "/access_codes/create", ... */
	const char *body;			/* JSON request body */
	SeamResponse resp;			/* filled by seam_http_perform */
} SeamRequest;

/*
 * Perform the requests concurrently (at most oracode.max_connections in
 * flight) and return when each has an answer or has failed. Raises only for
 * configuration errors (no API key, bad URL) and interrupts.
 */
extern void seam_http_perform(SeamRequest *reqs, int nreqs);

/*
 * Called with every finished transfer, its secrets already masked (the
 * worker sets it to keep its health view current); NULL in backends.
 */
typedef void (*SeamAnswerHook) (const SeamRequest *req);
extern SeamAnswerHook seam_http_answer_hook;

/*
 * A caller's say over a batch while it runs: may_start is asked just before
 * reqs[i] would be sent (false: it is not sent, and its response stays "no
 * response, surely not sent"); finished is told when reqs[i].resp is
 * complete; overlap, if set, is called while the window is on the wire
 * (full, or holding the last requests), once per turn until it returns
 * false, and may run a transaction each time. All run in seam_http.c's own
 * frames, never inside libcurl.
 */
typedef struct SeamGate
{
	bool		(*may_start) (int i, void *arg);
	void		(*finished) (int i, void *arg);
	/*
	 * One piece of the caller's work, done while Seam works on the requests
	 * in flight; true if more pieces remain. A piece should take less time
	 * than the window takes at Seam, or Seam waits for the caller.
	 */
	bool		(*overlap) (void *arg);
	void	   *arg;
} SeamGate;

/* seam_http_perform with a gate (NULL: every request is sent). */
extern void seam_http_perform_gated(SeamRequest *reqs, int nreqs, const SeamGate *gate);

/* Is an API key configured? (never reveals it) */
extern bool seam_http_have_key(void);

/* Drop kept-alive connections, e.g. after oracode.api_url changed. */
extern void seam_http_reset(void);

#endif							/* ORACODE_SEAM_HTTP_H */
