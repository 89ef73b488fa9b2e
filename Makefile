# oracode — PostgreSQL extension for dormakaba Oracode locks through Seam.
EXTENSION  = oracode
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" oracode.control)

MODULE_big = oracode
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
DATA       = $(wildcard sql/oracode--*.sql)

# pg_regress suites for the pure functions (sql/NAME.sql + expected/NAME.out)
REGRESS    = $(sort $(notdir $(basename $(filter-out sql/oracode--%,$(wildcard sql/*.sql)))))
# `make installcheck` against any running server (PGHOST, PGPORT, ...): pg_regress creates the
# extension in its database first, as test/run does
REGRESS_OPTS = --load-extension=oracode

PG_CONFIG ?= pg_config
PG_CPPFLAGS += -I$(srcdir)/src -DEXTVERSION=\"$(EXTVERSION)\"
PG_CFLAGS  += -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK += -lcurl -lcjson

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Rebuild an object when a header it includes changes (Debian's PostgreSQL is built without
# --enable-depend, so PGXS does not track headers itself): a struct changed in one header must
# not leave objects built against its old layout.
override CFLAGS += -MMD -MP
-include $(OBJS:.o=.d)
EXTRA_CLEAN += $(OBJS:.o=.d)

.PHONY: test demo
test:
	./test/run
demo:
	./scripts/demo

# test/run asks for the pg_regress list from here, so the Makefile stays its one source.
.PHONY: print-regress
print-regress:
	@echo $(REGRESS)

# --- fuzzing (issue 4) ---------------------------------------------------------------------
# `make fuzz`: build the libFuzzer targets for the oracode_tod parser, the slot JSON reader
# and the Seam response parser (fuzz/, clang with ASan and UBSan) and run each for
# FUZZ_SECONDS (default 60), printing executions per target; fails on any crash or broken
# promise. The long run behind its own command: test/run does not call it.
.PHONY: fuzz
fuzz:
	./scripts/setup.sh fuzz
	$(MAKE) -C fuzz run
