/*
 * redact.c — keep the Seam API key and the webhook secret out of the log.
 *
 * PostgreSQL itself writes 'parameter "oracode.api_key" changed to "..."'
 * when a reload changes the key, and with log_statement or an error it
 * writes the text of an ALTER SYSTEM that sets it. No GUC flag prevents
 * either, so an emit_log_hook rewrites such messages before they reach the
 * server log: any quoted value after a secret setting's name becomes
 * ********, the current secrets are masked wherever they appear, and the
 * statement text is withheld when it names a secret setting.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "tcop/tcopprot.h"
#include "utils/elog.h"

#include "guc.h"
#include "redact.h"

static emit_log_hook_type prev_emit_log_hook = NULL;

static const char *const secret_names[] = {"oracode.api_key", "oracode.webhook_secret"};

/* Append s with every occurrence of secret (if long enough to matter) masked. */
static void
mask_value(StringInfo out, const char *s, const char *secret)
{
	size_t		len = secret ? strlen(secret) : 0;
	const char *hit;

	if (len < 4)
	{
		appendStringInfoString(out, s);
		return;
	}
	while ((hit = strstr(s, secret)) != NULL)
	{
		appendBinaryStringInfo(out, s, hit - s);
		appendStringInfoString(out, "********");
		s = hit + len;
	}
	appendStringInfoString(out, s);
}

/* Mask the quoted value that follows a secret setting's name, e.g. = '...' or to "...". */
static char *
mask_after_names(const char *s)
{
	StringInfoData out;
	size_t		i;
	const char *p = s;

	initStringInfo(&out);
	while (*p)
	{
		const char *hit = NULL;
		size_t		hitlen = 0;

		for (i = 0; i < lengthof(secret_names); i++)
		{
			const char *h = strstr(p, secret_names[i]);

			if (h && (hit == NULL || h < hit))
			{
				hit = h;
				hitlen = strlen(secret_names[i]);
			}
		}
		if (hit == NULL)
		{
			appendStringInfoString(&out, p);
			break;
		}
		/* copy through the name, then skip to the next quote and mask up to its mate */
		appendBinaryStringInfo(&out, p, (hit - p) + hitlen);
		p = hit + hitlen;
		/* the quote closing a quoted name is not the value's */
		if (*p == '"' || *p == '\'')
			appendStringInfoChar(&out, *p++);
		{
			const char *q = strpbrk(p, "'\"");
			const char *end;

			if (q == NULL || q - p > 16)
				continue;
			end = strchr(q + 1, *q);
			if (end == NULL)
				end = q + strlen(q);
			appendBinaryStringInfo(&out, p, (q - p) + 1);
			appendStringInfoString(&out, "********");
			p = end;
		}
	}
	return out.data;
}

/* s with both kinds of masking applied; NULL stays NULL. */
char *
oracode_redact(const char *s)
{
	StringInfoData a,
				b;
	char	   *named;

	if (s == NULL)
		return NULL;
	named = mask_after_names(s);
	initStringInfo(&a);
	mask_value(&a, named, oracode_api_key);
	initStringInfo(&b);
	mask_value(&b, a.data, oracode_webhook_secret);
	pfree(named);
	pfree(a.data);
	return b.data;
}

/* True if s mentions a secret setting or contains a current secret. */
static bool
mentions_secret(const char *s)
{
	size_t		i;

	if (s == NULL)
		return false;
	for (i = 0; i < lengthof(secret_names); i++)
		if (strstr(s, secret_names[i]) != NULL)
			return true;
	if (oracode_api_key && strlen(oracode_api_key) >= 4 && strstr(s, oracode_api_key))
		return true;
	if (oracode_webhook_secret && strlen(oracode_webhook_secret) >= 4 &&
		strstr(s, oracode_webhook_secret))
		return true;
	return false;
}

/* emit_log_hook: rewrite what is about to be logged. */
static void
redact_log_hook(ErrorData *edata)
{
	if (mentions_secret(edata->message))
		edata->message = oracode_redact(edata->message);
	if (mentions_secret(edata->detail))
		edata->detail = oracode_redact(edata->detail);
	if (mentions_secret(edata->detail_log))
		edata->detail_log = oracode_redact(edata->detail_log);
	if (mentions_secret(edata->hint))
		edata->hint = oracode_redact(edata->hint);
	if (mentions_secret(edata->context))
		edata->context = oracode_redact(edata->context);
	if (mentions_secret(debug_query_string))
		edata->hide_stmt = true;
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/* Install the hook (once per process). */
void
oracode_install_log_redaction(void)
{
	static bool installed = false;

	if (installed)
		return;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = redact_log_hook;
	installed = true;
}
