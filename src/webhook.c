/*
 * webhook.c — verify the signature of a Seam (Svix) webhook delivery.
 *
 * Svix signs "<msg id>.<unix seconds>.<raw body>" with HMAC-SHA256 under the
 * base64 key after "whsec_", and sends "v1,<base64 signature>" entries,
 * space-separated, in the signature header. A delivery is accepted when its
 * timestamp is within five minutes of now and any v1 entry matches; the
 * comparison takes the same time whatever the bytes, so it leaks nothing.
 * Applying the event is SQL's job (oracode_ingest_webhook).
 */
#include "postgres.h"

#include "common/base64.h"
#include "common/cryptohash.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "oracode.h"

PG_FUNCTION_INFO_V1(oracode_webhook_check_signature);

#define WEBHOOK_TOLERANCE_SECS 300

/* Raise OC006 with a detail sentence; nothing has been changed yet. */
static void
reject(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_ORACODE_WEBHOOK),
			 errmsg("webhook signature invalid or stale"),
			 errdetail("%s", detail)));
}

/* Equal-length strings compared in time independent of where they differ. */
static bool
equal_constant_time(const char *a, const char *b, size_t len)
{
	unsigned char diff = 0;
	size_t		i;

	for (i = 0; i < len; i++)
		diff |= (unsigned char) a[i] ^ (unsigned char) b[i];
	return diff == 0;
}

/* The HMAC key: the base64 after "whsec_" in oracode.webhook_secret. */
static uint8 *
secret_key(int *keylen)
{
	const char *s = oracode_webhook_secret;
	uint8	   *key;

	if (s == NULL || s[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_ORACODE_WEBHOOK),
				 errmsg("webhook signature invalid or stale"),
				 errdetail("oracode.webhook_secret is not set, so no signature can be verified."),
				 errhint("Set oracode.webhook_secret to the whsec_ secret of the Seam webhook and reload.")));
	if (strncmp(s, "whsec_", 6) == 0)
		s += 6;
	key = palloc(pg_b64_dec_len(strlen(s)));
	*keylen = pg_b64_decode(s, strlen(s), (char *) key, pg_b64_dec_len(strlen(s)));
	if (*keylen <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("oracode.webhook_secret is not a whsec_ secret"),
				 errdetail("The part after \"whsec_\" must be base64."),
				 errhint("Copy the secret exactly as Seam shows it.")));
	return key;
}

/* base64 of HMAC-SHA256(key, id "." ts "." body), NUL-terminated. */
static char *
expected_signature(const uint8 *key, int keylen, const char *id, const char *ts, bytea *body)
{
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	char	   *out;
	int			n;

	if (ctx == NULL ||
		pg_hmac_init(ctx, key, keylen) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) id, strlen(id)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) ".", 1) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) ts, strlen(ts)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) ".", 1) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body)) < 0 ||
		pg_hmac_final(ctx, mac, sizeof(mac)) < 0)
		elog(ERROR, "could not compute HMAC-SHA256");
	pg_hmac_free(ctx);
	out = palloc(pg_b64_enc_len(sizeof(mac)) + 1);
	n = pg_b64_encode((const char *) mac, sizeof(mac), out, pg_b64_enc_len(sizeof(mac)));
	out[n] = '\0';
	return out;
}

/* Check that ts is whole seconds within the tolerance of now. */
static void
check_timestamp(const char *ts)
{
	char	   *end;
	long long	secs;
	long long	now;

	errno = 0;
	secs = strtoll(ts, &end, 10);
	if (ts[0] == '\0' || *end != '\0' || errno != 0)
		reject("The webhook-timestamp header is not a number of seconds.");
	now = (long long) (GetCurrentTimestamp() / USECS_PER_SEC) +
		(long long) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	if (secs < now - WEBHOOK_TOLERANCE_SECS)
		reject("The delivery's timestamp is more than five minutes old.");
	if (secs > now + WEBHOOK_TOLERANCE_SECS)
		reject("The delivery's timestamp is more than five minutes in the future.");
}

/*
 * oracode.webhook_check_signature(msg_id text, ts text, signatures text, body bytea)
 * returns nothing, or raises OC006.
 */
Datum
oracode_webhook_check_signature(PG_FUNCTION_ARGS)
{
	char	   *id,
			   *ts,
			   *sigs,
			   *expected,
			   *tok,
			   *save;
	int			keylen;
	uint8	   *key;
	size_t		explen;
	bool		ok = false;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		reject("The svix-id, svix-timestamp and svix-signature headers (or their webhook-* forms) are all required.");
	if (PG_ARGISNULL(3))
		reject("The body is missing.");
	id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ts = text_to_cstring(PG_GETARG_TEXT_PP(1));
	sigs = text_to_cstring(PG_GETARG_TEXT_PP(2));

	check_timestamp(ts);
	key = secret_key(&keylen);
	expected = expected_signature(key, keylen, id, ts, PG_GETARG_BYTEA_PP(3));
	explen = strlen(expected);
	explicit_bzero(key, keylen);

	/* "v1,<sig> v1,<sig> ..." — other versions are skipped, any v1 match accepts */
	for (tok = strtok_r(sigs, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save))
	{
		if (strncmp(tok, "v1,", 3) != 0)
			continue;
		tok += 3;
		if (strlen(tok) == explen && equal_constant_time(tok, expected, explen))
			ok = true;			/* keep looping: same work whichever entry matches */
	}
	if (!ok)
		reject("No v1 signature in the header matches the body under oracode.webhook_secret.");
	PG_RETURN_VOID();
}
