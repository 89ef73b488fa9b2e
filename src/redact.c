/*
 * redact.c — keep the Seam API key and the webhook secret out of the log
 * and out of pg_stat_activity.
 *
 * PostgreSQL itself writes 'parameter "oracode.api_key" changed to "..."'
 * when a reload changes the key; with log_statement, log_min_duration_
 * statement or an error (log_min_error_statement) it writes the text of a
 * statement that sets it; and pg_stat_activity shows that text to
 * pg_monitor while the session stays idle after it. No GUC flag prevents
 * any of these, so:
 * - an emit_log_hook rewrites messages before they reach the server log:
 *   the quoted value after a secret setting's name becomes ********, the
 *   current secrets are masked wherever they appear, and when the statement
 *   being run names a secret (secret_stmt.c reads it as the parser does:
 *   any case, quoted names, comments, dollar quotes) its text is withheld
 *   from STATEMENT lines and masked wherever a message quotes it;
 * - a ProcessUtility hook recognises, in the parse tree, SET, ALTER SYSTEM,
 *   ALTER DATABASE ... SET and ALTER ROLE ... SET of a secret, reports a
 *   masked text as the session's activity, and hands the statement on with
 *   the masked text (same length, so positions in it stay valid), so that
 *   hooks after ours (pg_stat_statements) never see the value.
 * Both are needed in every backend, so _PG_init installs them wherever the
 * library is loaded.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/backend_status.h"
#include "utils/elog.h"

#include "guc.h"
#include "redact.h"
#include "secret_stmt.h"

/* Reported as the activity of a statement that sets a secret where the text cannot be masked. */
#define WITHHELD_ACTIVITY "<statement withheld: it sets an oracode secret>"

static emit_log_hook_type prev_emit_log_hook = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;

/* The top-level statement text during which a utility statement set a secret, if any. */
static const char *secret_query = NULL;

static const char *const secret_names[] = {"oracode.api_key", "oracode.webhook_secret"};

/* Append s with every occurrence of secret (if long enough to matter) masked. */
static void
mask_value(StringInfo out, const char *s, const char *secret)
{
	size_t		len = secret ? strlen(secret) : 0;

	/* a secret that short would mask words */
	append_replacing(out, s, secret ? secret : "", len < 4 ? 0 : len, "********");
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

/* Mask a message field that quotes the statement: its text, and any value it gives a secret. */
static char *
mask_statement_in(char *field, const char *sql, const char *masked_sql)
{
	StringInfoData out;

	if (field == NULL)
		return NULL;
	initStringInfo(&out);
	append_replacing(&out, field, sql, strlen(sql), masked_sql);
	return sql_mask_values_in(out.data, sql);
}

/* Report a masked text as this session's activity (pg_stat_activity.query). */
static void
report_masked_activity(const char *sql)
{
	if (sql != NULL && sql_names_secret(sql))
		pgstat_report_activity(STATE_RUNNING, sql_mask_secrets(sql));
	else
		pgstat_report_activity(STATE_RUNNING, WITHHELD_ACTIVITY);
}

/* emit_log_hook: rewrite what is about to be logged. */
static void
redact_log_hook(ErrorData *edata)
{
	const char *sql = debug_query_string;

	/* first the statement, while the message still quotes it verbatim */
	if (sql != NULL && (sql == secret_query || mentions_secret(sql) || sql_names_secret(sql)))
	{
		char	   *masked = sql_mask_secrets(sql);

		edata->hide_stmt = true;
		edata->message = mask_statement_in(edata->message, sql, masked);
		edata->detail = mask_statement_in(edata->detail, sql, masked);
		edata->detail_log = mask_statement_in(edata->detail_log, sql, masked);
		edata->hint = mask_statement_in(edata->hint, sql, masked);
		edata->context = mask_statement_in(edata->context, sql, masked);
		/* a statement that failed before it ran (a syntax error) reaches no utility hook */
		if (edata->elevel >= ERROR && sql != secret_query)
			report_masked_activity(sql);
	}
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
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/* Does the utility statement set (or reset) a secret setting? */
static bool
sets_secret(Node *stmt)
{
	VariableSetStmt *set = NULL;

	if (stmt == NULL)
		return false;
	switch (nodeTag(stmt))
	{
		case T_VariableSetStmt:
			set = (VariableSetStmt *) stmt;
			break;
		case T_AlterSystemStmt:
			set = ((AlterSystemStmt *) stmt)->setstmt;
			break;
		case T_AlterDatabaseSetStmt:
			set = ((AlterDatabaseSetStmt *) stmt)->setstmt;
			break;
		case T_AlterRoleSetStmt:
			set = ((AlterRoleSetStmt *) stmt)->setstmt;
			break;
		default:
			return false;
	}
	return set != NULL && is_secret_setting(set->name);
}

/* ProcessUtility_hook: mask a statement that sets a secret before anything else sees it. */
static void
redact_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					   ProcessUtilityContext context, ParamListInfo params,
					   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (sets_secret(pstmt->utilityStmt))
	{
		secret_query = debug_query_string;
		report_masked_activity(debug_query_string);
		if (queryString != NULL)
			queryString = sql_mask_secrets(queryString);
	}
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

/* Install the hooks (once per process). */
void
oracode_install_log_redaction(void)
{
	static bool installed = false;

	if (installed)
		return;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = redact_log_hook;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = redact_process_utility;
	installed = true;
}
