/*
 * secret_stmt.h — recognise and mask SQL text that names a secret setting
 * (secret_stmt.c); never raises, for use while an error is reported.
 */
#ifndef ORACODE_SECRET_STMT_H
#define ORACODE_SECRET_STMT_H

#include "lib/stringinfo.h"

extern bool is_secret_setting(const char *name);
extern bool sql_names_secret(const char *sql);
extern char *sql_mask_secrets(const char *sql);
extern char *sql_mask_values_in(const char *text, const char *sql);
extern void append_replacing(StringInfo out, const char *s, const char *needle, size_t len,
							 const char *with);

#endif							/* ORACODE_SECRET_STMT_H */
