/*
 * oracode.c — module entry point: magic block and start-up registration.
 */
#include "postgres.h"

#include "fmgr.h"

#include "guc.h"
#include "oracode.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Called when the library is loaded (at server start when preloaded). */
void
_PG_init(void)
{
	oracode_define_gucs();
}
