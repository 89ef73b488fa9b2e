/*
 * launcher.h — the launcher that keeps one worker running per database in
 * oracode.database (launcher.c).
 */
#ifndef ORACODE_LAUNCHER_H
#define ORACODE_LAUNCHER_H

#include "postgres.h"

extern void oracode_launcher_register(void);
extern PGDLLEXPORT void oracode_launcher_main(Datum arg);

#endif							/* ORACODE_LAUNCHER_H */
