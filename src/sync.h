/*
 * sync.h — refresh oracode.devices and oracode.time_slots from Seam.
 */
#ifndef ORACODE_SYNC_H
#define ORACODE_SYNC_H

#include "postgres.h"

#include "seam_json.h"

/* The Oracode devices Seam listed, de-duplicated, with UUID ids. */
typedef struct SyncFetch
{
	SeamDevice *devices;
	int			ndevices;
	int			pages;			/* /devices/list requests it took */
} SyncFetch;

/*
 * HTTP only: page through /devices/list. Needs no transaction and takes no
 * lock (a worker may call it between transactions); raises for HTTP and
 * configuration errors. Allocates in CurrentMemoryContext, which should be
 * short-lived (see seam_http_perform).
 */
extern SyncFetch *sync_fetch_devices(void);

/*
 * SQL only: write what sync_fetch_devices returned. Needs a transaction with
 * an active snapshot; connects to SPI itself (nesting is fine). Returns the
 * number of devices written.
 */
extern int	sync_apply_devices(const SyncFetch *fetch);

/*
 * Both in one: what oracode_sync_devices() does. Needs a transaction with an
 * active snapshot, like sync_apply_devices; the transaction is open across
 * the HTTP requests but holds no lock on oracode's tables until they are done.
 */
extern int	oracode_sync_devices_internal(void);

#endif							/* ORACODE_SYNC_H */
