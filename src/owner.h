/*
 * owner.h — run statements with the extension owner's rights, steered by
 * nothing of the caller's (owner.c).
 */
#ifndef ORACODE_OWNER_H
#define ORACODE_OWNER_H

#include "postgres.h"

/* The search_path every statement run with the owner's rights is planned and executed under. */
#define ORACODE_PINNED_SEARCH_PATH "pg_catalog, pg_temp"

/* What owner_enter() saved, for owner_leave(). */
typedef struct OwnerScope
{
	Oid			save_userid;
	int			save_sec_context;
	int			guc_nest_level;
} OwnerScope;

extern Oid	oracode_owner(void);
extern void owner_enter(OwnerScope *scope);
extern void owner_prefer_index_paths(void);
extern void owner_leave(OwnerScope *scope);
extern Datum access_code_row_for_role(Datum row, Oid role);

#endif							/* ORACODE_OWNER_H */
