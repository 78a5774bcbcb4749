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

# The SQL scripts are generated from the parts in extension/ by extension/script.sh (README,
# "Releasing"): the install script from the data definitions (extension/data/) and the code
# (extension/*.sql); for every release with a migration (extension/upgrade/<from>--<to>.sql) an
# upgrade script from it straight to this release: its migrations one after the other, then the
# same code.
DATA_PARTS = $(sort $(wildcard extension/data/*.sql))
CODE_PARTS = $(sort $(wildcard extension/*.sql))
MIGRATIONS = $(sort $(wildcard extension/upgrade/*--*.sql))
UPGRADE_FROM = $(filter-out $(EXTVERSION),$(sort $(foreach m,$(MIGRATIONS),$(firstword $(subst --, ,$(notdir $(basename $(m))))))))
UPGRADE_SCRIPTS = $(foreach v,$(UPGRADE_FROM),$(EXTENSION)--$(v)--$(EXTVERSION).sql)
DATA_built = $(EXTENSION)--$(EXTVERSION).sql $(UPGRADE_SCRIPTS)
EXTRA_CLEAN = $(EXTENSION).control $(DATA_built) results regression.diffs regression.out

REGRESS    = $(patsubst test/regress/sql/%.sql,%,$(sort $(wildcard test/regress/sql/*.sql)))
REGRESS_OPTS = --inputdir=test/regress --encoding=UTF8

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

$(EXTENSION)--$(EXTVERSION).sql: extension/script.sh $(DATA_PARTS) $(CODE_PARTS) META.json
	sh extension/script.sh install $(EXTVERSION) >$@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }

$(EXTENSION)--%--$(EXTVERSION).sql: extension/script.sh $(MIGRATIONS) $(CODE_PARTS) META.json
	sh extension/script.sh upgrade $* $(EXTVERSION) >$@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }

# Headers are not tracked by PGXS; rebuild everything when one changes.
$(OBJS): $(wildcard src/core/*.hpp src/pg/*.hpp)
# vtj.versio() reports the version compiled in (VTJ_FDW_VERSION): a new version rebuilds it.
src/pg/functions.o src/pg/functions.bc: META.json

.PHONY: unit demo test print-version print-upgrades
unit:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build build -j2 && (cd build && ctest --output-on-failure)
demo:
	bash test/demo
test:
	bash test/run
print-version:
	@echo $(EXTVERSION)
print-upgrades:
	@echo $(UPGRADE_SCRIPTS)

# ---- Debian package (debian/; README "Installing the Debian package") -----------------------
# make deb       dist/postgresql-15-vtj-fdw_<version>_<arch>.deb (with its -dbgsym .deb, .changes
#                and .buildinfo), built by dpkg-buildpackage in a copy of the checkout (the files
#                git would commit), so neither the checkout nor its parent directory gets build
#                droppings. Needs debhelper, postgresql-server-dev-all, dpkg-dev and git.
# make lintian   lintian on what make deb built (the .changes: both .debs and the .buildinfo),
#                overridden tags shown with the reason (debian/*.lintian-overrides); the output is
#                also in dist/lintian.txt. Fails on an error or a warning that is not overridden.
DEB_DIR      = dist
DEB_SOURCE   = vtj-fdw
DEB_BUILDDIR = $(DEB_DIR)/build/$(DEB_SOURCE)-$(EXTVERSION)
# (--show-overrides would make lintian's own --fail-on count the overridden tags too.)
LINTIAN_OPTS = --display-info --pedantic --show-overrides --fail-on none

.PHONY: deb lintian
deb:
	sh debian/check-version
	@git rev-parse --is-inside-work-tree >/dev/null || { echo "make deb copies the files of a git checkout"; exit 1; }
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_BUILDDIR)
	git ls-files -z --cached --others --exclude-standard | \
	  xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
	  tar --null -T - -cf - | tar -xf - -C $(DEB_BUILDDIR)
	cd $(DEB_BUILDDIR) && dpkg-buildpackage -us -uc -b
	find $(DEB_DIR)/build -maxdepth 1 -type f -exec mv -t $(DEB_DIR) {} +
	rm -rf $(DEB_DIR)/build
	@ls -1 $(DEB_DIR)/*.deb
# lintian advises against running as root: as root, run it as nobody, on a copy of the package
# files in a directory nobody may enter (a checkout under /root or a mktemp -d one is not).
lintian:
	@rc=0; \
	  if [ "$$(id -u)" = 0 ]; then \
	    t=$$(mktemp -d) && chmod 755 "$$t" && cp $(DEB_DIR)/*.changes $(DEB_DIR)/*.deb $(DEB_DIR)/*.buildinfo "$$t"/ && \
	      chmod 644 "$$t"/* && (cd "$$t" && runuser -u nobody -- lintian $(LINTIAN_OPTS) *.changes) >$(DEB_DIR)/lintian.txt 2>&1 || rc=$$?; \
	    rm -rf "$$t"; \
	  else \
	    lintian $(LINTIAN_OPTS) $(DEB_DIR)/*.changes >$(DEB_DIR)/lintian.txt 2>&1 || rc=$$?; \
	  fi; \
	  cat $(DEB_DIR)/lintian.txt; \
	  if [ $$rc -ne 0 ]; then echo "lintian failed (exit $$rc)"; exit 1; fi; \
	  if grep -qE '^[EW]: ' $(DEB_DIR)/lintian.txt; then echo "lintian: errors or warnings (above)"; exit 1; fi
