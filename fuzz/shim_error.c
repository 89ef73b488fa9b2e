/*
 * shim_error.c — ereport and elog for the fuzz harnesses.
 *
 * In a server an ERROR unwinds with siglongjmp to the nearest PG_TRY or to
 * the top of the command. Here it unwinds to shim_try, which hands the
 * harness the SQLSTATE and texts, so harnesses can check that each ERROR is
 * the one doc/reference.md promises. Messages are formatted by PostgreSQL's own
 * pg_vsnprintf (libpgport), as in a server. Levels below ERROR are not
 * reported, as with a log level that hides them; FATAL and PANIC abort.
 */
#include "postgres.h"

#include <setjmp.h>
#include <stdio.h>

#include "pg_shim.h"

static sigjmp_buf *error_trap = NULL;
static bool building = false;	/* between errstart and errfinish */
static ShimError current;
static ShimError last;

/* Start an error report: only ERROR and above are reported here. */
bool
errstart(int elevel, const char *domain)
{
	if (elevel < ERROR)
		return false;
	if (building)
		shim_fail("ereport inside ereport (elevel %d)", elevel);
	memset(&current, 0, sizeof(current));
	current.elevel = elevel;
	current.sqlerrcode = ERRCODE_INTERNAL_ERROR;	/* elog's default, as in elog.c */
	building = true;
	return true;
}

/* The out-of-line variant used when the level is a constant ERROR or above. */
bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

/* Write "ABCDE" for a packed SQLSTATE. */
static void
unpack_sqlstate(int code, char *out)
{
	int			i;

	for (i = 0; i < 5; i++)
	{
		out[i] = PGUNSIXBIT(code);
		code >>= 6;
	}
	out[5] = '\0';
}

/* Finish the report: unwind to shim_try, as an ERROR unwinds to PG_CATCH. */
void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (!building)
		shim_fail("errfinish without errstart");
	building = false;
	current.filename = filename;
	current.lineno = lineno;
	unpack_sqlstate(current.sqlerrcode, current.sqlstate);
	last = current;
	if (current.elevel >= FATAL)
		shim_fail("%s at %s:%d: %s", current.elevel == FATAL ? "FATAL" : "PANIC",
				  filename, lineno, current.message);
	if (error_trap == NULL)
		shim_fail("ERROR outside shim_try at %s:%d: %s", filename, lineno, current.message);
	siglongjmp(*error_trap, 1);
}

/* Record the SQLSTATE. */
int
errcode(int sqlerrcode)
{
	current.sqlerrcode = sqlerrcode;
	return 0;
}

#define FORMAT_INTO(field, fmt) \
	do { \
		va_list		args; \
		va_start(args, fmt); \
		vsnprintf(current.field, sizeof(current.field), fmt, args); \
		va_end(args); \
	} while (0)

/* Record the primary message. */
int
errmsg(const char *fmt,...)
{
	FORMAT_INTO(message, fmt);
	return 0;
}

/* Record the primary message of an elog (not translated in a server either). */
int
errmsg_internal(const char *fmt,...)
{
	FORMAT_INTO(message, fmt);
	return 0;
}

/* Record the detail sentence. */
int
errdetail(const char *fmt,...)
{
	FORMAT_INTO(detail, fmt);
	return 0;
}

/* Record the hint sentence. */
int
errhint(const char *fmt,...)
{
	FORMAT_INTO(hint, fmt);
	return 0;
}

/* Run fn(arg) with an error trap set: 0 if it returned, else the ERROR's SQLSTATE. */
int
shim_try(void (*fn) (void *arg), void *arg)
{
	sigjmp_buf	trap;
	sigjmp_buf *volatile outer = error_trap;

	if (sigsetjmp(trap, 0) == 0)
	{
		error_trap = &trap;
		fn(arg);
		error_trap = outer;
		return 0;
	}
	error_trap = outer;
	return last.sqlerrcode;
}

/* The ERROR that the last failed shim_try caught. */
const ShimError *
shim_last_error(void)
{
	return &last;
}

/* Report a broken promise of the code under test and abort, so libFuzzer saves the input. */
void
shim_fail(const char *fmt,...)
{
	va_list		args;

	fprintf(stderr, "\n*** fuzz finding: ");
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fprintf(stderr, "\n");
	abort();
}
