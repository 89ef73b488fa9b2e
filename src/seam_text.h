/*
 * seam_text.h — text that came from Seam, made safe to store and to log.
 *
 * Anything in an answer is Seam's (or an impostor's) to choose: an error
 * message may echo the request's Authorization header, and a device or slot
 * name may hold a newline followed by what looks like a server log line.
 * seam_http.c masks secrets in every answer before anyone reads it; messages
 * that quote Seam's text escape its control characters.
 */
#ifndef ORACODE_SEAM_TEXT_H
#define ORACODE_SEAM_TEXT_H

#include "postgres.h"

/*
 * Overwrite, in place, every occurrence of key (when it is at least
 * SEAM_REDACT_MIN_KEY bytes long) and the token after any "Bearer " (any
 * case) in buf[0..len) with '*', keeping the length, so JSON stays valid.
 * Plain C: no allocation, never raises, so libcurl's callbacks may call it.
 * Returns how many bytes it masked.
 */
#define SEAM_REDACT_MIN_KEY 8
extern size_t seam_redact_secrets(char *buf, size_t len, const char *key);

/*
 * A palloc'd copy of s for a log or error message: \n, \r and \t as those
 * two-character escapes, other control characters (below 0x20, and 0x7f)
 * as \xNN. Everything else, backslashes included, is kept, so escaping
 * twice changes nothing. NULL gives NULL.
 */
extern char *seam_text_for_log(const char *s);

/*
 * Escape, as seam_text_for_log does, the message, detail and hint of an
 * error caught with CopyErrorData() before it is raised again or reported:
 * for errors whose texts quote names from Seam (OC001, OC002, OC003).
 */
extern void seam_error_data_for_log(ErrorData *edata);

#endif							/* ORACODE_SEAM_TEXT_H */
