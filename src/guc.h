/*
 * guc.h — oracode's configuration settings (postgresql.conf: oracode.*).
 */
#ifndef ORACODE_GUC_H
#define ORACODE_GUC_H

extern char *oracode_api_url;
extern char *oracode_api_key;
extern char *oracode_api_key_file;
extern char *oracode_database;
extern char *oracode_webhook_secret;
extern int	oracode_poll_interval;		/* seconds */
extern int	oracode_sync_interval;		/* seconds, 0 = never */
extern int	oracode_connect_timeout;	/* milliseconds */
extern int	oracode_request_timeout;	/* milliseconds */
extern int	oracode_max_connections;
extern int	oracode_create_rate_limit;	/* creates per minute per device */
extern int	oracode_batch_size;
extern int	oracode_retry_max_delay;	/* seconds */
extern int	oracode_max_response_size;	/* kilobytes */
extern int	oracode_max_databases;
extern char *oracode_key_database;	/* a worker's database, for %d in api_key_file */
extern char *oracode_workspace_id;	/* "" = none */

extern void oracode_define_gucs(void);
extern char *oracode_api_key_value(const char **problem);
extern struct List *oracode_database_list(const char *value, const char **error);
extern void oracode_database_list_free(struct List *names);
extern bool oracode_database_listed(const char *name);

#endif							/* ORACODE_GUC_H */
