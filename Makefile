# vtj_fdw — PGXS build (the source of truth; CMakeLists.txt mirrors it for unit tests and IDEs).
#
#   make && make install          build and install into the PostgreSQL that pg_config names
#   make installcheck             pg_regress suite against a running server (test/run sets it up)
#   bash test/run                 everything: deps, build, unit tests, a throwaway cluster, mock,
#                                 pg_regress, integration scripts (see README)

EXTENSION  = vtj_fdw
# The version is written once, in META.json ("version"); everything else is generated from it.
EXTVERSION := $(shell grep -m1 '"version"' META.json | sed -E 's/.*"version": *"([^"]+)".*/\1/')

MODULE_big = vtj_fdw
CORE_SRCS  = $(sort $(wildcard src/core/*.cpp))
PG_SRCS    = $(sort $(wildcard src/pg/*.cpp))
OBJS       = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)

# The install script is generated from the ordered parts in extension/.
SQL_PARTS  = $(sort $(wildcard extension/*.sql))
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
EXTRA_CLEAN = $(EXTENSION).control $(DATA_built) results regression.diffs regression.out

REGRESS    = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --encoding=UTF8

PG_CONFIG ?= pg_config

CURL_CFLAGS := $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS   := $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
XML_CFLAGS  := $(shell pkg-config --cflags libxml-2.0 2>/dev/null || xml2-config --cflags)
XML_LIBS    := $(shell pkg-config --libs libxml-2.0 2>/dev/null || xml2-config --libs)
SIMDJSON_CFLAGS := $(shell pkg-config --cflags simdjson 2>/dev/null)
SIMDJSON_LIBS   := $(shell pkg-config --libs simdjson 2>/dev/null || echo -lsimdjson)

PG_CPPFLAGS = -I$(CURDIR)/src -DVTJ_FDW_VERSION='"$(EXTVERSION)"' $(CURL_CFLAGS) $(XML_CFLAGS) $(SIMDJSON_CFLAGS)
# C++17; PostgreSQL 15's headers still use `register`, which C++17 rejects (-Wno-register
# until PG 16). VTJ_WERROR=1 (set by test/run) turns warnings into errors.
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-register -Wno-missing-field-initializers
ifeq ($(VTJ_WERROR),1)
PG_CXXFLAGS += -Werror
endif
# VTJ_SANITIZE=1 (test/run --only sanitize): ASan + UBSan. The server then needs the ASan
# runtime preloaded (LD_PRELOAD), as PostgreSQL itself is not instrumented. VTJ_SANITIZE_CXXFLAGS
# (environment) adds compiler flags to such a build only, e.g. a test-only -D.
ifeq ($(VTJ_SANITIZE),1)
PG_CXXFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer $(VTJ_SANITIZE_CXXFLAGS)
endif
# PGXS links with the C compiler: bring the C++ runtime explicitly.
SHLIB_LINK = $(CURL_LIBS) $(XML_LIBS) $(SIMDJSON_LIBS) -lstdc++
ifeq ($(VTJ_SANITIZE),1)
SHLIB_LINK += -fsanitize=address,undefined
endif

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS's %.bc rule for LLVM JIT bitcode uses BITCODE_CXXFLAGS and CPPFLAGS only, so it would
# lose -std=c++17; hand it our flags (without -Werror: clang warns differently from g++).
COMPILE.cxx.bc += -std=c++17 -Wno-register $(PG_CPPFLAGS)

all: $(EXTENSION).control

$(EXTENSION).control: $(EXTENSION).control.in META.json
	sed 's/@EXTVERSION@/$(EXTVERSION)/' $< > $@

$(DATA_built): $(SQL_PARTS) META.json
	cat $(SQL_PARTS) > $@

# Headers are not tracked by PGXS; rebuild everything when one changes.
$(OBJS): $(wildcard src/core/*.hpp src/pg/*.hpp)

.PHONY: unit demo test print-version
unit:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build build -j2 && (cd build && ctest --output-on-failure)
demo:
	bash test/demo
test:
	bash test/run
print-version:
	@echo $(EXTVERSION)
