/*
 * guc.c — define the oracode.* settings.
 *
 * Secrets (the API key, the webhook secret) are superuser-only, left out of
 * SHOW ALL and the sample file, and shown masked even to superusers, so they
 * cannot leak through SHOW, pg_settings or current_setting().
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "guc.h"
#include "seam_json.h"

char	   *oracode_api_url = NULL;
char	   *oracode_api_key = NULL;
char	   *oracode_api_key_file = NULL;
char	   *oracode_database = NULL;
char	   *oracode_webhook_secret = NULL;
int			oracode_poll_interval = 60;
int			oracode_sync_interval = 3600;
int			oracode_connect_timeout = 5000;
int			oracode_request_timeout = 30000;
int			oracode_max_connections = 8;
int			oracode_create_rate_limit = 10;
int			oracode_batch_size = 100;
int			oracode_retry_max_delay = 600;
int			oracode_max_response_size = 32 * 1024;
char	   *oracode_workspace_id = NULL;

/*
 * oracode.workspace_id is empty or a UUID: it goes into a request header, so
 * nothing else (a line break above all) may reach it.
 */
static bool
check_workspace_id(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || seam_is_uuid(*newval))
		return true;
	GUC_check_errdetail("oracode.workspace_id must be a workspace id (a UUID), or empty.");
	return false;
}

/* Show a secret as set or not set, never its value. */
static const char *
show_api_key(void)
{
	return (oracode_api_key && oracode_api_key[0]) ? "********" : "";
}

/* Same for the webhook secret. */
static const char *
show_webhook_secret(void)
{
	return (oracode_webhook_secret && oracode_webhook_secret[0]) ? "********" : "";
}

/* Only http(s) URLs make sense; anything else is refused when set. */
static bool
check_api_url(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL)
		return true;
	if (strncmp(*newval, "https://", 8) != 0 && strncmp(*newval, "http://", 7) != 0)
	{
		GUC_check_errdetail("oracode.api_url must start with https:// (or http:// for a server on this host).");
		return false;
	}
	return true;
}

/* Register every oracode.* setting and reserve the prefix. */
void
oracode_define_gucs(void)
{
	const int	secret = GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE;

	DefineCustomStringVariable("oracode.api_url",
							   "Base URL of Seam's API.",
							   NULL, &oracode_api_url, "https://connect.getseam.com",
							   PGC_SIGHUP, 0, check_api_url, NULL, NULL);
	DefineCustomStringVariable("oracode.api_key",
							   "Seam API key used by the worker and oracode_sync_devices().",
							   "Superuser only; never shown or logged.",
							   &oracode_api_key, "",
							   PGC_SIGHUP, secret, NULL, NULL, show_api_key);
	DefineCustomStringVariable("oracode.api_key_file",
							   "File holding the Seam API key (used when oracode.api_key is empty).",
							   "Keeps the key out of postgresql.conf and out of the server log on reload.",
							   &oracode_api_key_file, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);
	DefineCustomStringVariable("oracode.webhook_secret",
							   "Seam webhook signing secret (whsec_...).",
							   "Superuser only; never shown or logged.",
							   &oracode_webhook_secret, "",
							   PGC_SIGHUP, secret, NULL, NULL, show_webhook_secret);
	DefineCustomStringVariable("oracode.database",
							   "Database the oracode worker connects to.",
							   NULL, &oracode_database, "postgres",
							   /* a postmaster setting can only be made while preloading */
							   process_shared_preload_libraries_in_progress ? PGC_POSTMASTER : PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomIntVariable("oracode.poll_interval",
							"How often the worker polls the status of codes in flight.",
							NULL, &oracode_poll_interval, 60, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("oracode.sync_interval",
							"How often the worker re-syncs devices and time slots (0 = never).",
							NULL, &oracode_sync_interval, 3600, 0, 7 * 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("oracode.connect_timeout",
							"Timeout for connecting to Seam.",
							NULL, &oracode_connect_timeout, 5000, 100, 600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("oracode.request_timeout",
							"Total timeout of one request to Seam.",
							NULL, &oracode_request_timeout, 30000, 100, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("oracode.max_connections",
							"Requests to Seam in flight at once.",
							NULL, &oracode_max_connections, 8, 1, 256,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("oracode.create_rate_limit",
							"Code creations per minute per device (Seam allows 10).",
							NULL, &oracode_create_rate_limit, 10, 1, 100000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("oracode.batch_size",
							"Requests the worker claims, and code ids it polls per request, at a time.",
							NULL, &oracode_batch_size, 100, 1, 10000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("oracode.retry_max_delay",
							"Longest wait between retries of a failing request.",
							NULL, &oracode_retry_max_delay, 600, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	/*
	 * Parsing an answer costs a fixed multiple of its size at most (see
	 * seam_json.c), so this bounds the memory one answer can take. The floor
	 * keeps every answer oracode asks for (a page of oracode.batch_size
	 * devices, a list of that many codes) well within reach.
	 */
	DefineCustomIntVariable("oracode.max_response_size",
							"Largest answer from Seam that is accepted.",
							"A larger answer is refused and counts as a failed request.",
							&oracode_max_response_size, 32 * 1024, 1024, 256 * 1024,
							PGC_SIGHUP, GUC_UNIT_KB, NULL, NULL, NULL);
	/*
	 * An API key belongs to one workspace; a personal access token (seam_at…)
	 * to a person, who names the workspace in a seam-workspace header.
	 */
	DefineCustomStringVariable("oracode.workspace_id",
							   "Seam workspace to act in, for a personal access token as the key.",
							   "Sent as the seam-workspace header when set; not needed with an API key.",
							   &oracode_workspace_id, "", PGC_SIGHUP, 0,
							   check_workspace_id, NULL, NULL);
	MarkGUCPrefixReserved("oracode");
}

/*
 * The API key in force: oracode.api_key, else the first line of
 * oracode.api_key_file (read on every call, so a new key only needs the file
 * rewritten). Returns a palloc'd copy, or NULL with *problem saying why.
 */
char *
oracode_api_key_value(const char **problem)
{
	char		buf[1024];
	FILE	   *f;
	size_t		n;

	*problem = NULL;
	if (oracode_api_key && oracode_api_key[0])
		return pstrdup(oracode_api_key);
	if (oracode_api_key_file == NULL || oracode_api_key_file[0] == '\0')
	{
		*problem = "neither oracode.api_key nor oracode.api_key_file is set";
		return NULL;
	}
	f = fopen(oracode_api_key_file, "r");
	if (f == NULL)
	{
		*problem = "oracode.api_key_file cannot be read";
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the first line, without surrounding white space */
	buf[strcspn(buf, "\r\n")] = '\0';
	while (n > 0 && isspace((unsigned char) buf[strlen(buf) - 1]))
		buf[strlen(buf) - 1] = '\0';
	if (buf[0] == '\0')
	{
		explicit_bzero(buf, sizeof(buf));
		*problem = "oracode.api_key_file is empty";
		return NULL;
	}
	{
		char	   *key = pstrdup(buf + strspn(buf, " \t"));

		explicit_bzero(buf, sizeof(buf));
		return key;
	}
}
