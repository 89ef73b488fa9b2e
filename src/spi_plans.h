/*
 * spi_plans.h — statements planned once per backend and kept (spi_plans.c).
 */
#ifndef ORACODE_SPI_PLANS_H
#define ORACODE_SPI_PLANS_H

#include "postgres.h"
#include "executor/spi.h"

#define SPI_PLAN_MAX_ARGS 16

/* One statement, its argument types, and its plan once prepared. */
typedef struct SpiPlan
{
	const char *sql;
	int			nargs;
	Oid			types[SPI_PLAN_MAX_ARGS];
	SPIPlanPtr	plan;			/* NULL until first run */
	int			cursor_options; /* e.g. CURSOR_OPT_GENERIC_PLAN; 0 for the plan cache's choice */
} SpiPlan;

extern int	spi_plan_run(SpiPlan *p, Datum *values, const char *nulls, long tcount);

#endif							/* ORACODE_SPI_PLANS_H */
