/*
 * redact.h — keep the Seam API key and the webhook secret out of the log.
 */
#ifndef ORACODE_REDACT_H
#define ORACODE_REDACT_H

extern char *oracode_redact(const char *s);
extern void oracode_install_log_redaction(void);

#endif							/* ORACODE_REDACT_H */
