/*
 * drop_database.h — DROP DATABASE stops the worker of the database dropped
 * (drop_database.c).
 */
#ifndef ORACODE_DROP_DATABASE_H
#define ORACODE_DROP_DATABASE_H

extern void oracode_drop_database_hook_install(void);

#endif							/* ORACODE_DROP_DATABASE_H */
