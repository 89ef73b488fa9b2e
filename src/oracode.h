/*
 * oracode.h — declarations shared across the oracode extension.
 */
#ifndef ORACODE_H
#define ORACODE_H

#include "postgres.h"

/* SQLSTATEs of the contract (doc/reference.md, "SQLSTATEs"); class OC is ours. */
#define ERRCODE_ORACODE_NO_SLOT			MAKE_SQLSTATE('O','C','0','0','1')
#define ERRCODE_ORACODE_NOT_OFFLINE		MAKE_SQLSTATE('O','C','0','0','2')
#define ERRCODE_ORACODE_CODE_LIMIT		MAKE_SQLSTATE('O','C','0','0','3')
#define ERRCODE_ORACODE_UNKNOWN_DEVICE	MAKE_SQLSTATE('O','C','0','0','4')
#define ERRCODE_ORACODE_IMMUTABLE		MAKE_SQLSTATE('O','C','0','0','5')
#define ERRCODE_ORACODE_WEBHOOK			MAKE_SQLSTATE('O','C','0','0','6')

/* Seam and Oracode limits */
#define ORACODE_MAX_STAY_USECS	(INT64CONST(744) * USECS_PER_HOUR)	/* 31 days */

#endif							/* ORACODE_H */
