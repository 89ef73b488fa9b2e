/*
 * status_notify.h — the status changes a transaction records, announced
 * with NOTIFY oracode_code_status when it commits (status_notify.c).
 */
#ifndef ORACODE_STATUS_NOTIFY_H
#define ORACODE_STATUS_NOTIFY_H

#include "postgres.h"
#include "utils/uuid.h"

/* The channel every status change is announced on. */
#define ORACODE_NOTIFY_CHANNEL "oracode_code_status"

/*
 * The longest payload sent, in bytes: PostgreSQL refuses 8000 and more
 * (with its default 8 kB pages), and a bound well under it leaves room for
 * a build with a smaller limit.
 */
#define ORACODE_NOTIFY_MAX_PAYLOAD 4000

/* A booking_ref longer than this (once escaped for JSON) is left out of a change, as null. */
#define ORACODE_NOTIFY_MAX_REF 1024

extern void status_notify_add(int64 id, text *booking_ref, const pg_uuid_t *device_id,
							  text *old_status, text *new_status, bool pin_ready);

#endif							/* ORACODE_STATUS_NOTIFY_H */
