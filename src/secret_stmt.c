/*
 * secret_stmt.c — does an SQL text name a secret setting, and what is it
 * with the values after that name masked?
 *
 * The log hook must decide this for any statement text, including one
 * that did not parse, and it runs while an error is being reported, where
 * it must not raise one itself. So this is a small scanner of its own that
 * reads SQL the way PostgreSQL's lexer does as far as names are concerned —
 * comments (nested), quoted identifiers, string literals (standard, E'',
 * U&'', B'' and X''), dollar quotes — and folds names as the server does for
 * a setting: case-insensitively, quoted or not. A secret is named by the
 * tokens oracode . api_key (any spacing or comments between them), or by a
 * single quoted identifier or string literal holding the whole name, as in
 * SET "oracode.api_key" or set_config('ORACODE.API_KEY', ...).
 *
 * Masking keeps the text's length, so the positions PostgreSQL records in
 * a statement (an error's cursor, a statement's location in a multi-
 * statement string) stay valid: after each secret name, every byte that is
 * not white space, up to the end of that statement, becomes '*'.
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "secret_stmt.h"

/* The secret settings; the part after "oracode." first, for the dotted form. */
static const char *const secret_names[] = {"oracode.api_key", "oracode.webhook_secret"};

typedef enum TokenKind
{
	TOKEN_END,
	TOKEN_NAME,					/* an identifier, quoted or not */
	TOKEN_STRING,				/* a string literal of any kind, or a dollar-quoted one */
	TOKEN_DOT,
	TOKEN_SEMICOLON,
	TOKEN_OTHER
} TokenKind;

/* One token: where it is, and for names and strings their content (as a view into the text). */
typedef struct Token
{
	TokenKind	kind;
	const char *start;			/* first byte of the token */
	const char *end;			/* one past its last byte */
	const char *lim;			/* the end of the text it was read from */
	const char *content;		/* a name's or string's characters, quotes excluded */
	int			content_len;	/* in bytes, escapes counted as written */
} Token;

/* How deep string literals are read as SQL themselves (DO blocks, EXECUTE of a literal). */
#define MAX_NESTING 3

/* The byte i places after p, or NUL at or past lim: the scanner never reads past its text. */
#define AT(p, i) ((p) + (i) < lim ? (p)[i] : '\0')

/* Is c a byte that may start an unquoted identifier? */
static bool
ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

/* Is c a byte that may continue an unquoted identifier? */
static bool
ident_cont(unsigned char c)
{
	return ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

/* Skip white space and comments ("--" to the end of the line, nested slash-star ones). */
static const char *
skip_space(const char *p, const char *lim)
{
	for (;;)
	{
		char		c = AT(p, 0);

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
			p++;
		else if (c == '-' && AT(p, 1) == '-')
		{
			while (AT(p, 0) && AT(p, 0) != '\n')
				p++;
		}
		else if (c == '/' && AT(p, 1) == '*')
		{
			int			depth = 1;

			p += 2;
			while (AT(p, 0) && depth > 0)
			{
				if (AT(p, 0) == '/' && AT(p, 1) == '*')
					depth++, p += 2;
				else if (AT(p, 0) == '*' && AT(p, 1) == '/')
					depth--, p += 2;
				else
					p++;
			}
		}
		else
			return p;
	}
}

/* Scan a quoted run starting at the opening quote q; backslash escapes when backslashes. */
static const char *
scan_quoted(const char *p, const char *lim, char q, bool backslashes, Token *tok)
{
	tok->content = ++p;
	while (AT(p, 0))
	{
		if (backslashes && AT(p, 0) == '\\' && AT(p, 1))
			p += 2;
		else if (AT(p, 0) == q && AT(p, 1) == q)
			p += 2;
		else if (AT(p, 0) == q)
			break;
		else
			p++;
	}
	tok->content_len = (int) (p - tok->content);
	return AT(p, 0) ? p + 1 : p;
}

/* If p starts a dollar quote ($$ or $tag$), scan it to its end and return true. */
static bool
scan_dollar(const char *p, const char *lim, Token *tok, const char **next)
{
	const char *tag_end = p + 1;
	size_t		tag_len;
	const char *close;

	while (AT(tag_end, 0) && AT(tag_end, 0) != '$' && ident_cont((unsigned char) AT(tag_end, 0)))
		tag_end++;
	if (AT(tag_end, 0) != '$' || (tag_end > p + 1 && !ident_start((unsigned char) p[1])))
		return false;
	tag_len = tag_end - p + 1;
	tok->content = tag_end + 1;
	close = tok->content;
	while (close + tag_len <= lim && strncmp(close, p, tag_len) != 0)
		close++;
	if (close + tag_len > lim)
		close = lim;
	tok->content_len = (int) (close - tok->content);
	*next = close < lim ? close + tag_len : lim;
	return true;
}

/* The next token at or after p, reading no further than lim. */
static Token
next_token(const char *p, const char *lim)
{
	Token		tok = {TOKEN_END, NULL, NULL, lim, NULL, 0};
	unsigned char c;

	p = skip_space(p, lim);
	tok.start = p;
	c = (unsigned char) AT(p, 0);
	if (c == '\0')
	{
		tok.end = p;
		return tok;
	}
	if (c == '"')
	{
		tok.kind = TOKEN_NAME;
		tok.end = scan_quoted(p, lim, '"', false, &tok);
	}
	else if (c == '\'')
	{
		tok.kind = TOKEN_STRING;
		tok.end = scan_quoted(p, lim, '\'', false, &tok);
	}
	else if ((c == 'e' || c == 'E') && AT(p, 1) == '\'')
	{
		tok.kind = TOKEN_STRING;
		tok.end = scan_quoted(p + 1, lim, '\'', true, &tok);
	}
	else if ((c == 'b' || c == 'B' || c == 'x' || c == 'X' || c == 'n' || c == 'N') && AT(p, 1) == '\'')
	{
		tok.kind = TOKEN_STRING;
		tok.end = scan_quoted(p + 1, lim, '\'', false, &tok);
	}
	else if ((c == 'u' || c == 'U') && AT(p, 1) == '&' && (AT(p, 2) == '\'' || AT(p, 2) == '"'))
	{
		tok.kind = AT(p, 2) == '"' ? TOKEN_NAME : TOKEN_STRING;
		tok.end = scan_quoted(p + 2, lim, p[2], false, &tok);
	}
	else if (c == '$' && scan_dollar(p, lim, &tok, &tok.end))
		tok.kind = TOKEN_STRING;
	else if (ident_start(c))
	{
		tok.kind = TOKEN_NAME;
		tok.content = p;
		while (ident_cont((unsigned char) AT(p, 0)))
			p++;
		tok.content_len = (int) (p - tok.content);
		tok.end = p;
	}
	else
	{
		tok.kind = c == '.' ? TOKEN_DOT : c == ';' ? TOKEN_SEMICOLON : TOKEN_OTHER;
		tok.end = p + 1;
	}
	return tok;
}

/* Does the token's content equal s, ignoring ASCII case (as setting names compare)? */
static bool
content_is(const Token *tok, const char *s)
{
	size_t		len = strlen(s);

	return (tok->kind == TOKEN_NAME || tok->kind == TOKEN_STRING) &&
		(size_t) tok->content_len == len && pg_strncasecmp(tok->content, s, len) == 0;
}

/* Does the token name a whole secret setting by itself? */
static bool
names_whole_secret(const Token *tok)
{
	int			i;

	for (i = 0; i < lengthof(secret_names); i++)
		if (content_is(tok, secret_names[i]))
			return true;
	return false;
}

/* Is the token the part of a secret's name after "oracode."? */
static bool
names_secret_part(const Token *tok)
{
	int			i;

	if (tok->kind != TOKEN_NAME)
		return false;
	for (i = 0; i < lengthof(secret_names); i++)
		if (content_is(tok, secret_names[i] + strlen("oracode.")))
			return true;
	return false;
}

/* Callback for each place a secret is named; last is the token that ends the name. */
typedef void (*SecretFound) (const Token *last, void *arg);

/*
 * Walk the tokens of the text from p to lim; for each place a secret is
 * named, call found (if any). String literals are read as SQL in turn, to
 * MAX_NESTING levels: DO blocks and EXECUTE take statements as strings.
 * Returns whether any was found.
 */
static bool
find_secret_names(const char *p, const char *lim, int depth, SecretFound found, void *arg)
{
	Token		prev2 = {TOKEN_END},
				prev1 = {TOKEN_END},
				tok;
	bool		any = false;

	for (tok = next_token(p, lim); tok.kind != TOKEN_END; tok = next_token(p, lim))
	{
		bool		hit = names_whole_secret(&tok) ||
			(names_secret_part(&tok) && prev1.kind == TOKEN_DOT && prev2.kind == TOKEN_NAME &&
			 content_is(&prev2, "oracode"));

		if (!hit && tok.kind == TOKEN_STRING && depth < MAX_NESTING &&
			find_secret_names(tok.content, tok.content + tok.content_len, depth + 1, found, arg))
		{
			any = true;
			if (found == NULL)
				return true;
		}
		if (hit)
		{
			any = true;
			if (found == NULL)
				return true;
			found(&tok, arg);
		}
		prev2 = prev1;
		prev1 = tok;
		p = tok.end;
	}
	return any;
}

/* Is name (as a parse tree holds it) one of the secret settings? Setting names compare case-insensitively. */
bool
is_secret_setting(const char *name)
{
	int			i;

	for (i = 0; name != NULL && i < lengthof(secret_names); i++)
		if (pg_strcasecmp(name, secret_names[i]) == 0)
			return true;
	return false;
}

/* True if sql names oracode.api_key or oracode.webhook_secret in any spelling the server accepts. */
bool
sql_names_secret(const char *sql)
{
	return sql != NULL && find_secret_names(sql, sql + strlen(sql), 0, NULL, NULL);
}

/* What the found() callbacks below work on. */
typedef struct MaskState
{
	const char *sql;			/* the statement text */
	char	   *copy;			/* sql_mask_secrets: its masked copy */
	StringInfo	text;			/* sql_mask_values_in: the text being masked, rewritten in place */
} MaskState;

/* The end of the statement whose secret name ends with last: its last token's end. */
static const char *
statement_end(const Token *last)
{
	const char *p = last->end;
	Token		tok;

	for (tok = next_token(p, last->lim); tok.kind != TOKEN_END && tok.kind != TOKEN_SEMICOLON;
		 tok = next_token(p, last->lim))
		p = tok.end;
	return p;
}

/* found() for sql_mask_secrets: mask all but white space from the name's end to its statement's. */
static void
mask_rest_of_statement(const Token *last, void *arg)
{
	MaskState  *st = (MaskState *) arg;
	const char *end = statement_end(last);
	const char *q;

	for (q = last->end; q < end; q++)
		if (!isspace((unsigned char) *q))
			st->copy[q - st->sql] = '*';
}

/*
 * A palloc'd copy of sql, of the same length, with everything after each
 * secret name up to the end of its statement masked (see the file header).
 */
char *
sql_mask_secrets(const char *sql)
{
	MaskState	st = {sql, pstrdup(sql), NULL};

	find_secret_names(sql, sql + strlen(sql), 0, mask_rest_of_statement, &st);
	return st.copy;
}

/*
 * Append s to out with every occurrence of the len bytes at needle replaced
 * by with: the one replace-all of the masking code (here and in redact.c).
 */
void
append_replacing(StringInfo out, const char *s, const char *needle, size_t len, const char *with)
{
	char	   *n = pnstrdup(needle, len);
	const char *hit;

	while (len > 0 && (hit = strstr(s, n)) != NULL)
	{
		appendBinaryStringInfo(out, s, hit - s);
		appendStringInfoString(out, with);
		s = hit + len;
	}
	appendStringInfoString(out, s);
	pfree(n);
}

/* Replace every occurrence of the len bytes at value in buf with ********. */
static void
mask_occurrences(StringInfo buf, const char *value, int len)
{
	StringInfoData out;

	if (len < 4)
		return;					/* a fragment that short is no secret, and would mask words */
	initStringInfo(&out);
	append_replacing(&out, buf->data, value, len, "********");
	resetStringInfo(buf);
	appendBinaryStringInfo(buf, out.data, out.len);
	pfree(out.data);
}

/* found() for sql_mask_values_in: mask each value token of the statement, raw and unquoted. */
static void
mask_statement_values(const Token *last, void *arg)
{
	MaskState  *st = (MaskState *) arg;
	const char *end = statement_end(last);
	const char *p = last->end;
	Token		tok;

	for (tok = next_token(p, end); tok.kind != TOKEN_END; tok = next_token(p, end))
	{
		mask_occurrences(st->text, tok.start, (int) (tok.end - tok.start));
		if (tok.content != NULL)
			mask_occurrences(st->text, tok.content, tok.content_len);
		p = tok.end;
	}
}

/*
 * A palloc'd copy of text (a message about statement sql) with every value
 * that sql gives a secret masked: a syntax error quotes the token it stopped
 * at, which may be the key itself.
 */
char *
sql_mask_values_in(const char *text, const char *sql)
{
	StringInfoData buf;
	MaskState	st = {sql, NULL, &buf};

	initStringInfo(&buf);
	appendStringInfoString(&buf, text);
	find_secret_names(sql, sql + strlen(sql), 0, mask_statement_values, &st);
	return buf.data;
}
