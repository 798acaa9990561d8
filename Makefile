# cachesim - build, test, install.
#
#   make                 libsim (static and shared) and the tools, in build/
#   make check           every unit test (Check) and CLI test
#   make check SAN=1     the same in an AddressSanitizer+UBSan build (build-san/)
#   make bench           benchmarks: requests per second, bytes per object
#   make demo            run cachesim on a shipped trace and plot it
#   make install PREFIX=/usr/local DESTDIR=
#
# Sources are found by wildcard: a new policies/x.c, tools/x.c or
# tests/check_x.c needs no change here.

VERSION   := 0.2.0
SOVERSION := 0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
LIBDIR    ?= $(PREFIX)/lib
INCDIR    ?= $(PREFIX)/include
MANDIR    ?= $(PREFIX)/share/man
PKGDIR    ?= $(LIBDIR)/pkgconfig

CC        ?= cc
ifeq ($(SAN),1)
BUILD     ?= build-san
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT       ?= -O1 -g
else
BUILD     ?= build
SANFLAGS  :=
OPT       ?= -O2 -g
endif

WARN      := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS  += -D_GNU_SOURCE -Ilibsim/include -Ilibsim
CFLAGS    ?= $(OPT)
CFLAGS    += -std=c11 $(WARN) -fPIC -pthread $(SANFLAGS)
LDFLAGS   += -pthread $(SANFLAGS)
LIBS      := -lzstd -lz -lm
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

LIB_SRC   := $(wildcard libsim/*.c) $(wildcard policies/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
TOOL_SRC  := $(filter-out tools/cli.c,$(wildcard tools/*.c))
TOOLS     := $(TOOL_SRC:tools/%.c=$(BUILD)/%)
TOOL_COMMON := $(BUILD)/tools/cli.o
TEST_SRC  := $(wildcard tests/check_*.c)
TESTS     := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_HELP := $(filter-out tests/check_%.c tests/bench%.c,$(wildcard tests/*.c))
TEST_HOBJ := $(TEST_HELP:%.c=$(BUILD)/%.o)
BENCH_SRC := $(wildcard tests/bench*.c)
BENCHES   := $(BENCH_SRC:tests/%.c=$(BUILD)/tests/%)
HEADERS   := $(wildcard libsim/include/*.h)
MANPAGES  := $(wildcard man/*.[1-9])

STATIC    := $(BUILD)/libsim.a
SHARED    := $(BUILD)/libsim.so.$(VERSION)
DEPS_OK   := $(BUILD)/.deps-ok

.PHONY: all check bench demo install uninstall clean deps
all: $(STATIC) $(SHARED) $(TOOLS)

# Debian build dependencies, installed once when missing (scripts/deps.sh).
$(DEPS_OK): scripts/deps.sh
	@mkdir -p $(BUILD)
	@sh scripts/deps.sh
	@touch $@
deps: $(DEPS_OK)

$(BUILD)/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(STATIC): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libsim.so.$(SOVERSION) $(LDFLAGS) -o $@ $^ $(LIBS)
	ln -sf libsim.so.$(VERSION) $(BUILD)/libsim.so.$(SOVERSION)
	ln -sf libsim.so.$(VERSION) $(BUILD)/libsim.so

# Tools link libsim statically so they run from the build tree.
$(BUILD)/%: $(BUILD)/tools/%.o $(TOOL_COMMON) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $< $(TOOL_COMMON) $(STATIC) $(LIBS)

$(BUILD)/tests/%.o: tests/%.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CHECK_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/check_%: $(BUILD)/tests/check_%.o $(TEST_HOBJ) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_HOBJ) $(STATIC) $(CHECK_LIBS) $(LIBS)

$(BUILD)/tests/bench%: $(BUILD)/tests/bench%.o $(TEST_HOBJ) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_HOBJ) $(STATIC) $(LIBS)

# bench_vec compares with hnswlib (header-only C++) through a shim, when
# the header is installed (Debian: libhnswlib-dev); otherwise it runs alone.
ifneq ($(wildcard /usr/include/hnswlib/hnswlib.h),)
CXX       ?= c++
$(BUILD)/tests/bench_vec.o: CPPFLAGS += -DHAVE_HNSWLIB
$(BUILD)/tests/hnswlib_shim.o: tests/hnswlib_shim.cpp
	@mkdir -p $(dir $@)
	$(CXX) -std=c++11 $(OPT) -Itests -pthread $(SANFLAGS) -c $< -o $@
$(BUILD)/tests/bench_vec: $(BUILD)/tests/bench_vec.o $(BUILD)/tests/hnswlib_shim.o $(TEST_HOBJ) $(STATIC)
	$(CXX) $(LDFLAGS) -o $@ $< $(BUILD)/tests/hnswlib_shim.o $(TEST_HOBJ) $(STATIC) $(LIBS)
endif

check: all $(TESTS)
	@BUILD=$(BUILD) sh tests/run.sh $(TESTS)

bench: all $(BENCHES)
	@BUILD=$(BUILD) sh scripts/bench.sh

demo: all
	@BUILD=$(BUILD) sh scripts/demo.sh

$(BUILD)/libsim.pc: libsim/libsim.pc.in Makefile
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|; s|@VERSION@|$(VERSION)|' $< > $@

install: all $(BUILD)/libsim.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) \
		$(DESTDIR)$(PKGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(TOOLS) $(DESTDIR)$(BINDIR)
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)
	ln -sf libsim.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsim.so.$(SOVERSION)
	ln -sf libsim.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsim.so
	install -m 644 $(HEADERS) $(DESTDIR)$(INCDIR)
	install -m 644 $(BUILD)/libsim.pc $(DESTDIR)$(PKGDIR)
	for m in $(MANPAGES); do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s; done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(TOOLS)))
	rm -f $(DESTDIR)$(LIBDIR)/libsim.a $(DESTDIR)$(LIBDIR)/libsim.so*
	rm -f $(addprefix $(DESTDIR)$(INCDIR)/,$(notdir $(HEADERS)))
	rm -f $(DESTDIR)$(PKGDIR)/libsim.pc
	for m in $(MANPAGES); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done

clean:
	rm -rf build build-san

.SECONDARY:
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
