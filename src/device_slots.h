/*
 * device_slots.h — the synced slots of a device, from match_device.c's
 * backend-local cache, for the other device_id entry points (explain.c).
 */
#ifndef ORACODE_DEVICE_SLOTS_H
#define ORACODE_DEVICE_SLOTS_H

#include "postgres.h"
#include "utils/uuid.h"

#include "slots.h"

/*
 * The slots of a device, or NULL if it is not in oracode.devices. A cached
 * set (*cached true) stays valid only until the next catalog access may
 * flush the cache: use it before touching the catalogs again.
 */
extern OracodeSlotSet *device_slot_set(const pg_uuid_t *device_id, bool *cached);

/* Raise OC004 for a device not (or, with dev->removed, no longer) in oracode.devices. */
extern void device_unknown_error(const pg_uuid_t *device_id, const OracodeDeviceInfo *dev)
			pg_attribute_noreturn();

#endif							/* ORACODE_DEVICE_SLOTS_H */
