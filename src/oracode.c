/*
 * oracode.c — module entry point: magic block and start-up registration.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "booking_batch.h"
#include "drop_database.h"
#include "guc.h"
#include "launcher.h"
#include "oracode.h"
#include "redact.h"
#include "seam_json.h"
#include "shmem.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Called when the library is loaded (at server start when preloaded). */
void
_PG_init(void)
{
	oracode_define_gucs();
	oracode_install_log_redaction();
	seam_json_init();
	oracode_register_wake_callback();
	booking_batch_install_hooks();
	/* the worker and its shared state exist only when preloaded; SQL works either way */
	if (!process_shared_preload_libraries_in_progress || IsBinaryUpgrade)
		return;
	oracode_shmem_register();
	oracode_drop_database_hook_install();
	oracode_launcher_register();
}
