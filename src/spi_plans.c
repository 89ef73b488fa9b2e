/*
 * spi_plans.c — run a fixed statement through a plan kept for the backend.
 *
 * The per-booking paths (oracode_create_code, the booking trigger, the
 * events trigger) run the same few statements for every row; parsing and
 * planning them each time would cost more than executing them. A kept plan
 * is re-planned by the plan cache whenever a table it uses changes.
 */
#include "postgres.h"

#include "executor/spi.h"

#include "spi_plans.h"

/*
 * Execute p with the given arguments (nulls as SPI takes them, NULL for
 * none); the caller is connected to SPI. Returns SPI's result code.
 */
int
spi_plan_run(SpiPlan *p, Datum *values, const char *nulls, long tcount)
{
	int			rc;

	if (p->plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare_cursor(p->sql, p->nargs, p->types, p->cursor_options);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", p->sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed for \"%s\"", p->sql);
		p->plan = plan;
	}
	rc = SPI_execute_plan(p->plan, values, nulls, false, tcount);
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed for \"%s\": %s", p->sql, SPI_result_code_string(rc));
	return rc;
}
