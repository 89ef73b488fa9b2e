/*
 * seam_text.c — text that came from Seam, made safe to store and to log.
 *
 * Masking keeps the length of what it masks, so a JSON body stays valid
 * JSON and the parser downstream sees the same structure. Escaping for
 * logs turns every control character into visible text: PostgreSQL's
 * stderr log only indents the lines after a newline, and syslog (which
 * PostgreSQL feeds line by line) and the tools that read logs do not even
 * do that, so a device name holding "\n<timestamp> LOG: ..." would read as
 * a line the server never wrote.
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "seam_text.h"

/* A character of an RFC 6750 bearer token (b64token, with its trailing '='). */
static inline bool
is_token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

/* Mask every occurrence of key (keylen bytes) in buf[0..len); returns the bytes masked. */
static size_t
mask_key(char *buf, size_t len, const char *key, size_t keylen)
{
	char	   *p = buf;
	char	   *last;
	size_t		masked = 0;

	if (keylen == 0 || keylen > len)
		return 0;
	last = buf + (len - keylen);
	while (p <= last && (p = memchr(p, key[0], last - p + 1)) != NULL)
	{
		if (memcmp(p, key, keylen) == 0)
		{
			memset(p, '*', keylen);
			masked += keylen;
			p += keylen;
		}
		else
			p++;
	}
	return masked;
}

/*
 * Mask the token after every "Bearer" followed by blanks, in any case. A
 * JSON-escaped slash ("\/", as some serialisers write it) is part of the
 * token; any other backslash ends it, so an escaped quote stays intact.
 */
static size_t
mask_bearer_tokens(char *buf, size_t len)
{
	size_t		masked = 0;
	size_t		i = 0;

	while (i + 6 < len)
	{
		size_t		j,
					start;

		if ((buf[i] != 'b' && buf[i] != 'B') || pg_strncasecmp(buf + i, "bearer", 6) != 0 ||
			(buf[i + 6] != ' ' && buf[i + 6] != '\t'))
		{
			i++;
			continue;
		}
		j = i + 6;
		while (j < len && (buf[j] == ' ' || buf[j] == '\t'))
			j++;
		start = j;
		while (j < len)
		{
			if (is_token_char(buf[j]))
				j++;
			else if (buf[j] == '\\' && j + 1 < len && buf[j + 1] == '/')
				j += 2;
			else
				break;
		}
		memset(buf + start, '*', j - start);
		masked += j - start;
		i = j;
	}
	return masked;
}

/*
 * Overwrite every occurrence of the key that was sent, and every bearer
 * token, in buf[0..len) with '*' of the same length. A key shorter than
 * SEAM_REDACT_MIN_KEY is left to the bearer rule: masking every occurrence
 * of two or three letters would garble answers and hide nothing.
 */
size_t
seam_redact_secrets(char *buf, size_t len, const char *key)
{
	size_t		keylen = key ? strlen(key) : 0;
	size_t		masked = 0;

	if (buf == NULL || len == 0)
		return 0;
	if (keylen >= SEAM_REDACT_MIN_KEY)
		masked += mask_key(buf, len, key, keylen);
	masked += mask_bearer_tokens(buf, len);
	return masked;
}

/* Does this byte need escaping in a log line? */
static inline bool
is_log_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * A copy of s with control characters escaped, for log and error messages.
 * Byte-wise is right in every server encoding: no byte of a multibyte
 * character is below 0x40.
 */
char *
seam_text_for_log(const char *s)
{
	StringInfoData out;
	const unsigned char *p;

	if (s == NULL)
		return NULL;
	for (p = (const unsigned char *) s; *p; p++)
		if (is_log_control(*p))
			break;
	if (*p == '\0')
		return pstrdup(s);

	initStringInfo(&out);
	for (p = (const unsigned char *) s; *p; p++)
	{
		if (*p == '\n')
			appendStringInfoString(&out, "\\n");
		else if (*p == '\r')
			appendStringInfoString(&out, "\\r");
		else if (*p == '\t')
			appendStringInfoString(&out, "\\t");
		else if (is_log_control(*p))
			appendStringInfo(&out, "\\x%02x", *p);
		else
			appendStringInfoChar(&out, (char) *p);
	}
	return out.data;
}

/*
 * Escape the texts of a caught error that quote Seam's names. The context is
 * left alone: its lines are PostgreSQL's own, one per line by design.
 */
void
seam_error_data_for_log(ErrorData *edata)
{
	if (edata == NULL)
		return;
	edata->message = seam_text_for_log(edata->message);
	edata->detail = seam_text_for_log(edata->detail);
	edata->detail_log = seam_text_for_log(edata->detail_log);
	edata->hint = seam_text_for_log(edata->hint);
}
