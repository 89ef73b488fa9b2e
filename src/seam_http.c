/*
 * seam_http.c — POST JSON to Seam with libcurl's multi interface.
 *
 * One CURLM handle lives for the whole process, so connections (and TLS
 * sessions) are kept alive and reused between calls; each request gets its
 * own easy handle for the length of one seam_http_perform call.
 *
 * Waiting happens in slices of at most POLL_SLICE_MS with
 * CHECK_FOR_INTERRUPTS() between them, so a query cancel, SIGTERM or a
 * ProcSignalBarrier (DROP DATABASE) is honoured mid-transfer.
 *
 * libcurl allocates with malloc, and an ERROR longjmps past any code that
 * would free it. So every easy handle and header list of a call is recorded
 * in a batch that a reset callback on the caller's memory context owns:
 * when an ERROR unwinds and that context goes away, the callback detaches
 * the handles from the shared CURLM (libcurl closes connections that were
 * mid-transfer) and frees them. No callback handed to libcurl may raise an
 * ERROR either, since a longjmp through libcurl's frames would corrupt it;
 * they only copy bytes and report failure by their return value.
 *
 * libcurl resends a request by itself when a reused kept-alive connection
 * dies before any byte of the answer came back. For a create that reached
 * Seam that would be a second code, so request bodies are handed to libcurl
 * through a read callback whose seek callback refuses to rewind a body that
 * was already read: libcurl then reports CURLE_SEND_FAIL_REWIND (the worker
 * treats it as "may have been sent" and reconciles) instead of resending.
 * Reads (paths ending in /list or /get) may be resent.
 *
 * The API key goes into the Authorization header and nowhere else: no
 * CURLOPT_VERBOSE, no logging of headers, and the header text is wiped
 * before it is freed. What comes back is not trusted to leave it out: an
 * endpoint (or a proxy) may echo the request's headers in an error message
 * or a header, and that text is stored in tables other roles read and
 * quoted in the log. So every answer is redacted where its transfer ends,
 * before anyone parses it: each occurrence of the key that was sent, and
 * the token after any "Bearer ", is overwritten with '*' of the same
 * length (seam_text.c), in the body, the request id and curl's error text.
 *
 * An answer larger than oracode.max_response_size is cut off and refused
 * (the transfer fails, so the request counts as unanswered and a create is
 * reconciled); the parser bounds what parsing an accepted one costs.
 */
#include "postgres.h"

#include <curl/curl.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "guc.h"
#include "seam_http.h"
#include "seam_text.h"

#if LIBCURL_VERSION_NUM < 0x075500
#error "oracode needs libcurl 7.85.0 or later (CURLOPT_PROTOCOLS_STR)"
#endif

/* Longest wait between two interrupt checks. */
#define POLL_SLICE_MS	100

/* Room to redact a whole header value before it is cut to its field's size. */
#define HEADER_VALUE_MAX	2048

/* One request of a batch and the libcurl objects it owns. */
typedef struct HttpTransfer
{
	SeamRequest *req;
	CURL	   *easy;			/* NULL once cleaned up */
	struct curl_slist *headers; /* NULL once freed */
	bool		too_large;		/* the body went past max_body */
	bool		send_once;		/* never send the body a second time (not a read) */
	size_t		max_body;		/* oracode.max_response_size in bytes, when the request started */
	const char *key;			/* the API key sent, to mask in what comes back; valid while the call runs */
	size_t		body_len;		/* request body length */
	size_t		body_pos;		/* bytes of it handed to libcurl so far */
	char		errbuf[CURL_ERROR_SIZE];
} HttpTransfer;

/* The requests of one seam_http_perform call. */
typedef struct HttpBatch
{
	HttpTransfer *xfers;
	int			nxfers;
	MemoryContextCallback reset_cb;
} HttpBatch;

SeamAnswerHook seam_http_answer_hook = NULL;

static bool curl_initialized = false;
static CURLM *shared_multi = NULL;
static char *shared_multi_url = NULL;	/* base URL its connections go to */
static HttpBatch *active_batch = NULL;	/* a batch whose handles may be attached */

/* Wipe a header line before its memory is returned (it may hold the key). */
static void
wipe_headers(struct curl_slist *list)
{
	for (; list != NULL; list = list->next)
		if (list->data != NULL)
			explicit_bzero(list->data, strlen(list->data));
}

/* Detach and free one transfer's libcurl objects; safe to call twice. */
static void
transfer_cleanup(HttpTransfer *xfer)
{
	if (xfer->easy != NULL)
	{
		if (shared_multi != NULL)
			curl_multi_remove_handle(shared_multi, xfer->easy);
		curl_easy_cleanup(xfer->easy);
		xfer->easy = NULL;
	}
	if (xfer->headers != NULL)
	{
		wipe_headers(xfer->headers);
		curl_slist_free_all(xfer->headers);
		xfer->headers = NULL;
	}
}

/* Free every libcurl object of a batch; safe to call again. */
static void
batch_cleanup(HttpBatch *batch)
{
	int			i;

	for (i = 0; i < batch->nxfers; i++)
		transfer_cleanup(&batch->xfers[i]);
	if (active_batch == batch)
		active_batch = NULL;
}

/* Memory context reset callback: the batch's context is going away (often after an ERROR). */
static void
batch_reset_callback(void *arg)
{
	batch_cleanup((HttpBatch *) arg);
}

/* Is an API key configured? (never reveals it) */
bool
seam_http_have_key(void)
{
	const char *problem;
	char	   *key = oracode_api_key_value(&problem);

	if (key == NULL)
		return false;
	explicit_bzero(key, strlen(key));
	pfree(key);
	return true;
}

/* Drop the kept-alive connections (and any batch an ERROR left attached). */
void
seam_http_reset(void)
{
	if (active_batch != NULL)
		batch_cleanup(active_batch);
	if (shared_multi != NULL)
	{
		curl_multi_cleanup(shared_multi);
		shared_multi = NULL;
	}
	if (shared_multi_url != NULL)
	{
		pfree(shared_multi_url);
		shared_multi_url = NULL;
	}
}

/* Initialise libcurl once per process, at first use (never in the postmaster). */
static void
http_global_init(void)
{
	if (curl_initialized)
		return;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not initialize libcurl")));
	curl_initialized = true;
}

/* True for the host names that mean this machine. */
static bool
is_loopback_host(const char *host)
{
	return pg_strcasecmp(host, "127.0.0.1") == 0 ||
		pg_strcasecmp(host, "localhost") == 0 ||
		strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0;
}

/*
 * oracode.api_url without trailing slashes, checked: it must parse as a URL,
 * and plain http is allowed only to this machine (the test server), so the
 * key never crosses a network in clear text. Sets *protocols for
 * CURLOPT_PROTOCOLS_STR.
 */
static char *
base_url(const char **protocols)
{
	char	   *base = pstrdup(oracode_api_url ? oracode_api_url : "");
	size_t		len = strlen(base);
	CURLU	   *u;
	CURLUcode	rc;
	char	   *part = NULL;
	char		scheme[16] = "";
	char		host[256] = "";

	while (len > 0 && base[len - 1] == '/')
		base[--len] = '\0';

	/* copy what we need out of libcurl's memory before anything can raise */
	u = curl_url();
	if (u == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	rc = curl_url_set(u, CURLUPART_URL, base, 0);
	if (rc == CURLUE_OK && curl_url_get(u, CURLUPART_SCHEME, &part, 0) == CURLUE_OK)
	{
		strlcpy(scheme, part, sizeof(scheme));
		curl_free(part);
		part = NULL;
	}
	if (rc == CURLUE_OK && curl_url_get(u, CURLUPART_HOST, &part, 0) == CURLUE_OK)
	{
		strlcpy(host, part, sizeof(host));
		curl_free(part);
	}
	curl_url_cleanup(u);

	/* the URL itself is not quoted back: it could carry credentials */
	if (rc != CURLUE_OK || host[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("oracode.api_url is not a valid URL"),
				 errhint("Set oracode.api_url to Seam's base URL, e.g. https://connect.getseam.com.")));
	if (pg_strcasecmp(scheme, "https") == 0)
		*protocols = "https";
	else if (pg_strcasecmp(scheme, "http") == 0 && is_loopback_host(host))
		*protocols = "http";
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("oracode.api_url must use https"),
				 errdetail("Its scheme is \"%s\" and its host \"%s\"; plain http is allowed only to 127.0.0.1, ::1 or localhost.",
						   scheme, host),
				 errhint("Set oracode.api_url to an https:// URL.")));
	return base;
}

/* The process's CURLM, created on first use, or fresh if the base URL changed. */
static CURLM *
get_multi(const char *base)
{
	if (shared_multi != NULL && strcmp(shared_multi_url, base) != 0)
		seam_http_reset();
	if (shared_multi == NULL)
	{
		shared_multi = curl_multi_init();
		if (shared_multi == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("libcurl could not create a multi handle.")));
		shared_multi_url = MemoryContextStrdup(TopMemoryContext, base);
	}
	/* the limit is a reloadable setting: apply the current value every time */
	curl_multi_setopt(shared_multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long) oracode_max_connections);
	curl_multi_setopt(shared_multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long) oracode_max_connections);
	curl_multi_setopt(shared_multi, CURLMOPT_MAXCONNECTS, (long) oracode_max_connections);
	return shared_multi;
}

/*
 * CURLOPT_HEADERFUNCTION: keep seam-request-id and Retry-After (seconds).
 * Runs inside libcurl, so it must not raise: plain C only.
 */
static size_t
header_callback(char *buffer, size_t size, size_t nitems, void *userdata)
{
	SeamResponse *resp = &((HttpTransfer *) userdata)->req->resp;
	size_t		len = size * nitems;
	size_t		namelen;
	const char *colon;
	const char *value;
	const char *end;

	/* a new status line (after 100 Continue, say) starts a new header block */
	if (len >= 5 && strncmp(buffer, "HTTP/", 5) == 0)
	{
		resp->request_id[0] = '\0';
		resp->retry_after = -1;
		return len;
	}
	colon = memchr(buffer, ':', len);
	if (colon == NULL)
		return len;
	namelen = colon - buffer;
	value = colon + 1;
	end = buffer + len;
	while (value < end && (*value == ' ' || *value == '\t'))
		value++;
	while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;

	if (namelen == 15 && pg_strncasecmp(buffer, "seam-request-id", 15) == 0)
	{
		/* mask the whole value first: cut first, a key across the cut would survive in part */
		char		whole[HEADER_VALUE_MAX];
		size_t		n = Min((size_t) (end - value), sizeof(whole) - 1);

		memcpy(whole, value, n);
		whole[n] = '\0';
		seam_redact_secrets(whole, n, ((HttpTransfer *) userdata)->key);
		strlcpy(resp->request_id, whole, sizeof(resp->request_id));
	}
	else if (namelen == 11 && pg_strncasecmp(buffer, "retry-after", 11) == 0)
	{
		/* delta-seconds only; an HTTP-date is rare enough to read as "none" */
		const char *p;
		long		secs = 0;

		for (p = value; p < end && isdigit((unsigned char) *p) && secs < 86400 * 7; p++)
			secs = secs * 10 + (*p - '0');
		if (p > value && p == end)
			resp->retry_after = (int) Min(secs, 86400 * 7);
	}
	return len;
}

/*
 * CURLOPT_WRITEFUNCTION: append to the response body. Grows the buffer with
 * a no-OOM allocation and reports failure to libcurl (returning less than
 * was given aborts the transfer) instead of raising.
 */
static size_t
write_callback(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	HttpTransfer *xfer = (HttpTransfer *) userdata;
	StringInfo	body = &xfer->req->resp.body;
	size_t		n = size * nmemb;

	if ((size_t) body->len + n + 1 > (size_t) body->maxlen)
	{
		size_t		want = Max((size_t) body->maxlen * 2, (size_t) body->len + n + 1);
		char	   *grown;

		if ((size_t) body->len + n > xfer->max_body)
		{
			xfer->too_large = true;
			return 0;
		}
		want = Min(want, xfer->max_body + 1);
		grown = MemoryContextAllocExtended(GetMemoryChunkContext(body->data), want,
										   MCXT_ALLOC_NO_OOM);
		if (grown == NULL)
			return 0;
		memcpy(grown, body->data, body->len + 1);
		pfree(body->data);
		body->data = grown;
		body->maxlen = (int) want;
	}
	memcpy(body->data + body->len, ptr, n);
	body->len += (int) n;
	body->data[body->len] = '\0';
	return n;
}

/*
 * CURLOPT_READFUNCTION: hand libcurl the next part of the request body.
 * Runs inside libcurl, so it must not raise: plain C only.
 */
static size_t
read_callback(char *buffer, size_t size, size_t nitems, void *userdata)
{
	HttpTransfer *xfer = (HttpTransfer *) userdata;
	size_t		n = Min(size * nitems, xfer->body_len - xfer->body_pos);

	memcpy(buffer, xfer->req->body + xfer->body_pos, n);
	xfer->body_pos += n;
	return n;
}

/*
 * CURLOPT_SEEKFUNCTION: libcurl rewinds the body only to send the request
 * again on a new connection. Allowed for reads, and for a body nothing of
 * which was read yet; otherwise refused, so the transfer fails instead of
 * creating something twice.
 */
static int
seek_callback(void *userdata, curl_off_t offset, int origin)
{
	HttpTransfer *xfer = (HttpTransfer *) userdata;

	if (origin != SEEK_SET || offset != 0)
		return CURL_SEEKFUNC_CANTSEEK;
	if (xfer->send_once && xfer->body_pos > 0)
		return CURL_SEEKFUNC_FAIL;
	xfer->body_pos = 0;
	return CURL_SEEKFUNC_OK;
}

/* Does a request to this path only read (so sending it twice is harmless)? */
static bool
path_is_read(const char *path)
{
	size_t		len = strlen(path);

	return (len >= 5 && strcmp(path + len - 5, "/list") == 0) ||
		(len >= 4 && strcmp(path + len - 4, "/get") == 0);
}

/* Raise if a curl_easy_setopt failed (the batch callback frees the handle). */
static void
check_setopt(CURLcode rc, const char *what)
{
	if (rc != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not set libcurl option %s: %s", what, curl_easy_strerror(rc))));
}

/* Append one header line, keeping the list in the transfer so it is freed on ERROR. */
static void
add_header(HttpTransfer *xfer, const char *line)
{
	struct curl_slist *list = curl_slist_append(xfer->headers, line);

	if (list == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	xfer->headers = list;
}

/* Create, configure and attach the easy handle of one request. */
static void
transfer_start(CURLM *multi, HttpTransfer *xfer, const char *base, const char *protocols,
			   const char *key)
{
	SeamRequest *req = xfer->req;
	char	   *url = psprintf("%s%s", base, req->path);
	char	   *auth;
	CURLMcode	mc;

	xfer->easy = curl_easy_init();
	if (xfer->easy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("libcurl could not create an easy handle.")));

	add_header(xfer, "Content-Type: application/json");
	add_header(xfer, "Accept: application/json");
	/* no "Expect: 100-continue" round trip before larger bodies */
	add_header(xfer, "Expect:");
	auth = psprintf("Authorization: Bearer %s", key);
	add_header(xfer, auth);
	explicit_bzero(auth, strlen(auth));
	pfree(auth);
	if (oracode_workspace_id != NULL && oracode_workspace_id[0] != '\0')
		add_header(xfer, psprintf("seam-workspace: %s", oracode_workspace_id));

	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_URL, url), "CURLOPT_URL");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_PROTOCOLS_STR, protocols), "CURLOPT_PROTOCOLS_STR");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_FOLLOWLOCATION, 0L), "CURLOPT_FOLLOWLOCATION");
	/* libcurl's defaults, stated: there is deliberately no setting to turn them off */
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_SSL_VERIFYPEER, 1L), "CURLOPT_SSL_VERIFYPEER");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_SSL_VERIFYHOST, 2L), "CURLOPT_SSL_VERIFYHOST");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_NOSIGNAL, 1L), "CURLOPT_NOSIGNAL");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_CONNECTTIMEOUT_MS, (long) oracode_connect_timeout),
				 "CURLOPT_CONNECTTIMEOUT_MS");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_TIMEOUT_MS, (long) oracode_request_timeout),
				 "CURLOPT_TIMEOUT_MS");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_TCP_KEEPALIVE, 1L), "CURLOPT_TCP_KEEPALIVE");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_POST, 1L), "CURLOPT_POST");
	/*
	 * The body goes through read/seek callbacks, not CURLOPT_POSTFIELDS, which
	 * libcurl would silently resend (see the top of this file). The caller's
	 * body outlives the transfer, so it is read in place.
	 */
	xfer->body_len = strlen(req->body);
	xfer->body_pos = 0;
	xfer->send_once = !path_is_read(req->path);
	xfer->max_body = (size_t) oracode_max_response_size * 1024;
	xfer->key = key;
	/*
	 * A create that meets a kept-alive connection the server is just closing
	 * for idleness fails (it cannot be resent) and costs a reconciliation:
	 * reuse for a create only a connection idle for less time than servers
	 * usually keep one (node: 5 s, load balancers: a minute or more).
	 */
	if (xfer->send_once)
		check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_MAXAGE_CONN, 2L), "CURLOPT_MAXAGE_CONN");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_READFUNCTION, read_callback), "CURLOPT_READFUNCTION");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_READDATA, xfer), "CURLOPT_READDATA");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_SEEKFUNCTION, seek_callback), "CURLOPT_SEEKFUNCTION");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_SEEKDATA, xfer), "CURLOPT_SEEKDATA");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) xfer->body_len),
				 "CURLOPT_POSTFIELDSIZE_LARGE");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_HTTPHEADER, xfer->headers), "CURLOPT_HTTPHEADER");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_USERAGENT, "oracode/" EXTVERSION), "CURLOPT_USERAGENT");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) xfer->max_body),
				 "CURLOPT_MAXFILESIZE_LARGE");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_HEADERFUNCTION, header_callback), "CURLOPT_HEADERFUNCTION");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_HEADERDATA, xfer), "CURLOPT_HEADERDATA");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_WRITEFUNCTION, write_callback), "CURLOPT_WRITEFUNCTION");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_WRITEDATA, xfer), "CURLOPT_WRITEDATA");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_ERRORBUFFER, xfer->errbuf), "CURLOPT_ERRORBUFFER");
	check_setopt(curl_easy_setopt(xfer->easy, CURLOPT_PRIVATE, xfer), "CURLOPT_PRIVATE");
	pfree(url);

	mc = curl_multi_add_handle(multi, xfer->easy);
	if (mc != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not start an HTTP request: %s", curl_multi_strerror(mc))));
}

/*
 * True when the request surely never reached Seam: the name did not
 * resolve, the connection or TLS handshake never completed, or the time ran
 * out before libcurl began sending (its pre-transfer timer is still zero).
 * Anything else may have been received and acted on.
 */
static bool
surely_not_sent(CURL *easy, CURLcode rc)
{
	curl_off_t	pretransfer = 0;

	switch (rc)
	{
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_CONNECT:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CACERT_BADFILE:
			return true;
		case CURLE_OPERATION_TIMEDOUT:
			if (curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer) != CURLE_OK)
				return false;
			return pretransfer == 0;
		default:
			return false;
	}
}

/*
 * Record the outcome of a finished transfer, mask the secrets in what came
 * back, and free its libcurl objects.
 */
static void
transfer_finish(HttpTransfer *xfer, CURLcode rc)
{
	SeamResponse *resp = &xfer->req->resp;
	long		status = 0;

	resp->curl_code = (int) rc;
	resp->timed_out = (rc == CURLE_OPERATION_TIMEDOUT);
	if (rc == CURLE_OK)
	{
		curl_easy_getinfo(xfer->easy, CURLINFO_RESPONSE_CODE, &status);
		resp->status = status;
		resp->maybe_sent = true;
	}
	else
	{
		resp->status = 0;
		resp->maybe_sent = !surely_not_sent(xfer->easy, rc);
		if (xfer->too_large || rc == CURLE_FILESIZE_EXCEEDED)
		{
			/* the answer came and was refused: unreadable, like a garbled one */
			resp->too_large = true;
			if (xfer->max_body % (1024 * 1024) == 0)
				snprintf(resp->error, sizeof(resp->error),
						 "response body larger than oracode.max_response_size (%zu MB)",
						 xfer->max_body / (1024 * 1024));
			else
				snprintf(resp->error, sizeof(resp->error),
						 "response body larger than oracode.max_response_size (%zu kB)",
						 xfer->max_body / 1024);
		}
		else
			strlcpy(resp->error, xfer->errbuf[0] ? xfer->errbuf : curl_easy_strerror(rc),
					sizeof(resp->error));
	}
	seam_redact_secrets(resp->body.data, resp->body.len, xfer->key);
	seam_redact_secrets(resp->error, strlen(resp->error), xfer->key);
	seam_redact_secrets(resp->request_id, strlen(resp->request_id), xfer->key);
	transfer_cleanup(xfer);
	if (seam_http_answer_hook != NULL)
		seam_http_answer_hook(xfer->req);
}

/* Collect every transfer libcurl reports finished, telling the gate; returns how many. */
static int
collect_finished(CURLM *multi, HttpBatch *batch, const SeamGate *gate)
{
	CURLMsg    *msg;
	int			queued;
	int			done = 0;

	while ((msg = curl_multi_info_read(multi, &queued)) != NULL)
	{
		HttpTransfer *xfer = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &xfer);
		if (xfer == NULL)
			elog(ERROR, "libcurl finished a transfer oracode does not know");
		transfer_finish(xfer, msg->data.result);
		done++;
		if (gate != NULL && gate->finished != NULL)
			gate->finished((int) (xfer - batch->xfers), gate->arg);
	}
	return done;
}

/* Reset a response to "nothing arrived yet", with an empty body. */
static void
response_init(SeamResponse *resp)
{
	resp->status = 0;
	resp->curl_code = 0;
	resp->timed_out = false;
	resp->too_large = false;
	resp->maybe_sent = false;
	resp->retry_after = -1;
	resp->request_id[0] = '\0';
	resp->error[0] = '\0';
	initStringInfo(&resp->body);
}

/*
 * Perform the requests concurrently (at most oracode.max_connections in
 * flight) and return when each has an answer or has failed. Raises only for
 * configuration errors (no API key, bad URL), out-of-memory and interrupts.
 *
 * Call it in a short-lived memory context (a transaction's, or a worker's
 * per-cycle context that is reset): the bodies are allocated there, and the
 * cleanup callback that makes an interrupted call safe is registered there.
 */
void
seam_http_perform(SeamRequest *reqs, int nreqs)
{
	seam_http_perform_gated(reqs, nreqs, NULL);
}

/*
 * seam_http_perform, asking the gate before each request starts and telling
 * it of each answer, so that a caller can hold back the rest of a window
 * (after a 429 or 401, say) without waiting for the window to drain.
 */
void
seam_http_perform_gated(SeamRequest *reqs, int nreqs, const SeamGate *gate)
{
	HttpBatch  *batch;
	CURLM	   *multi;
	const char *protocols = NULL;
	char	   *base;
	char	   *key;
	const char *problem;
	int			started = 0;
	int			in_flight = 0;
	int			remaining = nreqs;
	bool		overlap = gate != NULL && gate->overlap != NULL;
	int			i;

	for (i = 0; i < nreqs; i++)
		response_init(&reqs[i].resp);
	if (nreqs <= 0)
		return;
	key = oracode_api_key_value(&problem);
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("oracode.api_key is not set"),
				 errdetail("Requests to Seam need an API key, and %s.", problem),
				 errhint("Set oracode.api_key_file (or oracode.api_key) and reload the configuration.")));
	http_global_init();
	base = base_url(&protocols);
	/* an ERROR in an earlier call may have left its handles attached */
	if (active_batch != NULL)
		batch_cleanup(active_batch);
	multi = get_multi(base);

	batch = palloc0(sizeof(HttpBatch));
	batch->xfers = palloc0(sizeof(HttpTransfer) * nreqs);
	batch->nxfers = nreqs;
	for (i = 0; i < nreqs; i++)
	{
		batch->xfers[i].req = &reqs[i];
		if (reqs[i].body == NULL)
			reqs[i].body = "{}";	/* every Seam route takes a JSON object */
	}
	batch->reset_cb.func = batch_reset_callback;
	batch->reset_cb.arg = batch;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &batch->reset_cb);
	active_batch = batch;

	while (remaining > 0)
	{
		int			running;
		int			done;
		CURLMcode	mc;

		while (in_flight < oracode_max_connections && started < nreqs)
		{
			int			next = started++;

			if (gate != NULL && gate->may_start != NULL && !gate->may_start(next, gate->arg))
			{
				remaining--;	/* held back: its response stays "surely not sent" */
				continue;
			}
			transfer_start(multi, &batch->xfers[next], base, protocols, key);
			in_flight++;
		}
		if (remaining == 0)
			break;
		mc = curl_multi_perform(multi, &running);
		if (mc != CURLM_OK)
			ereport(ERROR,
					(errcode(ERRCODE_SYSTEM_ERROR),
					 errmsg("HTTP transfer to Seam failed: %s", curl_multi_strerror(mc))));
		/* the window is on the wire: Seam works on it while the caller does a piece of its work */
		if (overlap && in_flight > 0 && (in_flight >= oracode_max_connections || started >= nreqs))
			overlap = gate->overlap(gate->arg);
		done = collect_finished(multi, batch, gate);
		in_flight -= done;
		remaining -= done;
		if (remaining == 0)
			break;
		if (done > 0 && started < nreqs)
			continue;			/* start the next ones at once */

		pgstat_report_wait_start(PG_WAIT_EXTENSION);
		mc = curl_multi_poll(multi, NULL, 0, POLL_SLICE_MS, NULL);
		pgstat_report_wait_end();
		if (mc != CURLM_OK)
			ereport(ERROR,
					(errcode(ERRCODE_SYSTEM_ERROR),
					 errmsg("waiting for Seam failed: %s", curl_multi_strerror(mc))));
		CHECK_FOR_INTERRUPTS();
	}
	batch_cleanup(batch);
	pfree(base);
	explicit_bzero(key, strlen(key));
	pfree(key);
}
