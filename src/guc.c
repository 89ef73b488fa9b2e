/*
 * guc.c — define the oracode.* settings.
 *
 * Secrets (the API key, the webhook secret) are superuser-only, left out of
 * SHOW ALL and the sample file, and shown masked even to superusers, so they
 * cannot leak through SHOW, pg_settings or current_setting().
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"
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
int			oracode_max_databases = 16;

/* The database a worker serves (set by the worker; backends look theirs up). */
char	   *oracode_key_database = NULL;
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

/*
 * Split oracode.database into names: comma-separated, white space around a
 * name ignored, a name in double quotes may hold commas, spaces or quotes
 * (doubled). Case is kept: a name is a database's name as it is spelled.
 * Returns a List of palloc'd strings, or NIL with *error set when the text
 * is malformed.
 */
List *
oracode_database_list(const char *value, const char **error)
{
	List	   *names = NIL;
	const char *p = value ? value : "";

	*error = NULL;
	for (;;)
	{
		StringInfoData name;
		bool		quoted = false;

		while (isspace((unsigned char) *p))
			p++;
		if (*p == '\0' && names == NIL)
			return NIL;			/* an empty setting: no database */
		initStringInfo(&name);
		if (*p == '"')
		{
			quoted = true;
			for (p++;; p++)
			{
				if (*p == '\0')
				{
					*error = "a double quote is not closed";
					return NIL;
				}
				if (*p == '"' && p[1] == '"')
					p++;
				else if (*p == '"')
				{
					p++;
					break;
				}
				appendStringInfoChar(&name, *p);
			}
		}
		else
		{
			while (*p != '\0' && *p != ',')
				appendStringInfoChar(&name, *p++);
			/* trailing white space is not part of the name */
			while (name.len > 0 && isspace((unsigned char) name.data[name.len - 1]))
				name.data[--name.len] = '\0';
		}
		while (isspace((unsigned char) *p))
			p++;
		if (name.len == 0 && !quoted)
		{
			*error = "a name is empty";
			return NIL;
		}
		if (name.len >= NAMEDATALEN)
		{
			*error = "a name is longer than a database name can be";
			return NIL;
		}
		if (!list_member(names, makeString(name.data)))
			names = lappend(names, makeString(name.data));
		if (*p == '\0')
			return names;
		if (*p != ',')
		{
			*error = "text follows a quoted name";
			return NIL;
		}
		p++;
	}
}

/* Free what oracode_database_list returned. */
void
oracode_database_list_free(List *names)
{
	ListCell   *lc;

	foreach(lc, names)
		pfree(strVal(lfirst(lc)));
	list_free_deep(names);
}

/* Is name one of the databases in oracode.database? */
bool
oracode_database_listed(const char *name)
{
	const char *error;
	List	   *names = oracode_database_list(oracode_database, &error);
	ListCell   *lc;

	bool		found = false;

	foreach(lc, names)
	{
		if (strcmp(strVal(lfirst(lc)), name) == 0)
			found = true;
	}
	oracode_database_list_free(names);
	return found;
}

/* A malformed list of databases is refused when set. */
static bool
check_database(char **newval, void **extra, GucSource source)
{
	const char *error;

	oracode_database_list_free(oracode_database_list(*newval, &error));
	if (error != NULL)
	{
		GUC_check_errdetail("oracode.database is a comma-separated list of database names: %s.", error);
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
							   "Databases the oracode workers serve (comma-separated), one worker each.",
							   "A reload starts and stops workers to match the list.",
							   &oracode_database, "postgres",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, check_database, NULL, NULL);
	/* its shared memory is sized at start: a postmaster setting, made only while preloading */
	DefineCustomIntVariable("oracode.max_databases",
							"Most databases oracode.database can name (entries in shared memory).",
							"Each served database also needs one of max_worker_processes.",
							&oracode_max_databases, 16, 1, 1024,
							process_shared_preload_libraries_in_progress ? PGC_POSTMASTER : PGC_SIGHUP,
							0, NULL, NULL, NULL);
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
 * oracode.api_key_file with %d replaced by this process's database name (one
 * key file per database, so per Seam workspace) and %% by %. NULL with
 * *problem set when the name is not known here or cannot be part of a path.
 */
static char *
api_key_path(const char **problem)
{
	const char *db = oracode_key_database;
	StringInfoData path;
	const char *p;

	if (strstr(oracode_api_key_file, "%d") != NULL && db == NULL)
	{
		/* a backend (oracode_sync_devices): its own database, from the catalog */
		if (OidIsValid(MyDatabaseId) && IsTransactionState())
			db = get_database_name(MyDatabaseId);
		if (db == NULL)
		{
			*problem = "oracode.api_key_file names the database (%d) and this process has none";
			return NULL;
		}
	}
	initStringInfo(&path);
	for (p = oracode_api_key_file; *p; p++)
	{
		if (p[0] == '%' && p[1] == 'd')
		{
			/* a database named ../x must not reach another file */
			if (strchr(db, '/') != NULL || strcmp(db, "..") == 0 || strcmp(db, ".") == 0)
			{
				*problem = "the database's name cannot be part of oracode.api_key_file (it has a slash or is a dot name)";
				return NULL;
			}
			appendStringInfoString(&path, db);
			p++;
		}
		else if (p[0] == '%' && p[1] == '%')
		{
			appendStringInfoChar(&path, '%');
			p++;
		}
		else
			appendStringInfoChar(&path, *p);
	}
	return path.data;
}

/*
 * The API key in force: oracode.api_key, else the first line of
 * oracode.api_key_file, %d replaced by the database's name (read on every
 * call, so a new key only needs the file rewritten). Returns a palloc'd copy,
 * or NULL with *problem saying why.
 */
char *
oracode_api_key_value(const char **problem)
{
	char		buf[1024];
	FILE	   *f;
	size_t		n;
	char	   *path;

	*problem = NULL;
	if (oracode_api_key && oracode_api_key[0])
		return pstrdup(oracode_api_key);
	if (oracode_api_key_file == NULL || oracode_api_key_file[0] == '\0')
	{
		*problem = "neither oracode.api_key nor oracode.api_key_file is set";
		return NULL;
	}
	path = api_key_path(problem);
	if (path == NULL)
		return NULL;
	f = fopen(path, "r");
	pfree(path);
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
