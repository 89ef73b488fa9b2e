/*
 * access_codes.h — for the C row triggers on oracode.access_codes
 * (guard.c, status_events.c).
 */
#ifndef ORACODE_ACCESS_CODES_H
#define ORACODE_ACCESS_CODES_H

#include "postgres.h"
#include "executor/spi.h"

/* A column's attribute number by name (the table is ours: a missing column is a bug). */
static inline int
access_codes_attnum(TupleDesc desc, const char *name)
{
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		elog(ERROR, "oracode.access_codes has no column \"%s\"", name);
	return attnum;
}

#endif							/* ORACODE_ACCESS_CODES_H */
