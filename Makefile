# uoa: non-recursive build into build/ (see STYLE.md). `make help` lists targets.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR  ?= $(PREFIX)/lib/uoa
MANDIR  ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
# The policy's path is fixed (docs/design.md §3): /etc, whatever PREFIX says.
SYSCONFDIR ?= /etc
B       ?= build

CC      ?= cc
PKGS    := libseccomp libmnl libcap libnftables libbpf
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
OPT     ?= -O2 -g
# User CFLAGS/LDFLAGS are appended, never replace the project's flags.
UOA_CFLAGS = $(OPT) -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIC \
           -D_GNU_SOURCE -I. -DUOA_LIBDIR='"$(LIBDIR)"' $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)
LDLIBS_SUP := $(shell pkg-config --libs $(PKGS))
SAN     ?=
# Every compile writes a .d file listing the headers it read (included at
# the end), so an object depends on exactly the headers it uses.
DEPFLAGS = -MMD -MP

COMMON_SRC := common/addr.c common/conffiles.c common/log.c common/strbuf.c common/wire.c
POLICY_SRC := policy/policy_parse.c policy/policy_build.c policy/policy_format.c \
              policy/policy_lookup.c policy/policy_decide.c \
              policy/policy_source.c policy/policy_plan.c policy/policy_bpf.c \
              policy/policy_shape.c policy/policy_rules.c
SUP_SRC    := uoad/uoad.c uoad/control.c uoad/target.c \
              uoad/notify.c uoad/notify_worker.c uoad/notify_bind.c uoad/notify_send.c \
              uoad/notify_socket.c uoad/notify_sockopt.c uoad/caller.c \
              uoad/route_lookup.c uoad/rtnl.c uoad/guard.c \
              uoad/relay.c uoad/crash.c uoad/stats.c \
              uoad/engine_bpf.c uoad/caps.c uoad/nss.c uoad/resume.c uoad/holder.c \
              uoad/shape.c uoad/shape_ingress.c uoad/shape_monitor.c
RUN_SRC    := uoa-run/uoa_run.c uoa-run/filter.c
MAP_SRC    := uoamap/uoamap.c
PRELOAD_SRC := libuoa-preload/preload.c libuoa-preload/netlink.c libuoa-preload/nl_io.c \
               libuoa-preload/nl_sockopt.c libuoa-preload/ifview.c
NLPROXY_SRC := netlink-proxy/nlsan.c netlink-proxy/nlrewrite.c netlink-proxy/nlview.c

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
LIB_OBJ := $(call obj,$(COMMON_SRC) $(POLICY_SRC) $(NLPROXY_SRC))

all: $(B)/uoad $(B)/uoa-run $(B)/uoamap $(B)/libuoa-preload.so

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(UOA_CFLAGS) $(DEPFLAGS) $(SAN) -c -o $@ $<

# The shim is loaded into arbitrary programs: never with a sanitizer runtime.
$(B)/obj/libuoa-preload/%.o: libuoa-preload/%.c
	@mkdir -p $(dir $@)
	$(CC) $(UOA_CFLAGS) $(DEPFLAGS) -c -o $@ $<

# The kernel engine: bpf/*.bpf.c compiled for the BPF target, and a libbpf
# skeleton generated from the object (embeds it into uoad).
BPF_CLANG ?= clang
$(B)/bpf/uoa.bpf.o: bpf/uoa.bpf.c
	@mkdir -p $(dir $@)
	$(BPF_CLANG) -O2 -g -target bpf -Wall -Werror $(DEPFLAGS) -I. -I/usr/include/$(shell $(CC) -dumpmachine) -c -o $@ $<
$(B)/gen/uoa.skel.h: $(B)/bpf/uoa.bpf.o
	@mkdir -p $(dir $@)
	bpftool gen skeleton $< name uoa_bpf >$@.tmp && mv $@.tmp $@
$(B)/obj/uoad/engine_bpf.o: $(B)/gen/uoa.skel.h
$(B)/obj/uoad/engine_bpf.o: UOA_CFLAGS += -I$(B)/gen

$(B)/libuoa.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/uoad: $(call obj,$(SUP_SRC)) $(B)/libuoa.a
	$(CC) $(LDFLAGS) $(SAN) -pthread -o $@ $^ $(LDLIBS_SUP) -lunwind

$(B)/uoa-run: $(call obj,$(RUN_SRC)) $(B)/libuoa.a
	$(CC) $(LDFLAGS) $(SAN) -o $@ $^ $(LDLIBS_SUP)

$(B)/uoamap: $(call obj,$(MAP_SRC)) $(B)/libuoa.a
	$(CC) $(LDFLAGS) $(SAN) -o $@ $^

$(B)/libuoa-preload.so: $(call obj,$(PRELOAD_SRC)) libuoa-preload/preload.map
	$(CC) $(LDFLAGS) -shared -Wl,--version-script=libuoa-preload/preload.map \
	      -o $@ $(call obj,$(PRELOAD_SRC))

# ---- tests -------------------------------------------------------------------
UNIT_TESTS := $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/test_*.c))
TEST_TOOLS := $(B)/tests/uoa-probe $(B)/tests/uoa-probe-static $(B)/tests/uoa-echo \
              $(B)/tests/uoa-attack $(B)/tests/uoa-attack-static $(B)/tests/sockcalls \
              $(B)/tests/uoa-stallfs

$(B)/tests/test_%: tests/test_%.c $(B)/libuoa.a
	@mkdir -p $(dir $@)
	$(CC) $(UOA_CFLAGS) $(DEPFLAGS) $(SAN) $(LDFLAGS) -o $@ $(filter %.c,$^) $(filter %.a,$^) $(shell pkg-config --libs criterion) -lmnl $(TEST_LIBS)
# The policy suites share a fixture (tests/policytest.h), as do the
# netlink-proxy suites (tests/nltest.h).
$(B)/tests/test_policy_parse $(B)/tests/test_policy_format $(B)/tests/test_policy_lookup \
$(B)/tests/test_policy_decide $(B)/tests/test_policy_source $(B)/tests/test_policy_shape \
$(B)/tests/test_policy_rules: tests/policytest.c
$(B)/tests/test_nlsan $(B)/tests/test_nlrewrite $(B)/tests/test_nlview: tests/nltest.c
# The control protocol's suite drives uoad/control.c itself (its kernel-facing
# callees are stubs in the test).
$(B)/tests/test_control: uoad/control.c
# The plan's test hands the script to nft's own parser (a dry run).
$(B)/tests/test_policy_plan: TEST_LIBS = $(shell pkg-config --libs libnftables)

# The integration tools: one program per tests/integration/NAME.c, built as
# build/tests/uoa-NAME and (for the static-binary rows) uoa-NAME-static. Never
# with a sanitizer runtime: the shim's test preloads it into uoa-nlclient.
TOOL_LINK   = $(CC) $(UOA_CFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $< -lpthread
STATIC_LINK = $(CC) $(filter-out -fPIC,$(UOA_CFLAGS)) $(DEPFLAGS) -static -o $@ $< -lpthread
$(B)/tests/uoa-%-static: tests/integration/%.c
	@mkdir -p $(dir $@)
	$(STATIC_LINK)
$(B)/tests/uoa-%: tests/integration/%.c
	@mkdir -p $(dir $@)
	$(TOOL_LINK)
$(B)/tests/sockcalls: bench/sockcalls.c
	@mkdir -p $(dir $@)
	$(TOOL_LINK)
$(B)/tests/test_preload: | $(B)/libuoa-preload.so $(B)/tests/uoa-nlclient

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t --jobs 2; done

# Both suites (run.sh, then the VINI demonstration vini.sh); the last line is
# the total, "N passed, M failed".
integration: all $(TEST_TOOLS)
	bash tests/integration/all.sh $(B)

# The README's test command runs this: unit tests, fuzzers (bounded), the netns
# integration suite, then unit and integration again built with ASan+UBSan.
check: all
	$(MAKE) unit
	$(MAKE) install-check
	$(MAKE) deb-check
	$(MAKE) fuzz
	$(MAKE) integration
	$(MAKE) asan

# Sanitizer build in its own tree; runs the same suite.
asan:
	$(MAKE) B=build-asan SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" OPT="-O1 -g" unit integration

# libFuzzer targets, one per parser of untrusted input, each run for a bounded time.
FUZZ_SECONDS ?= 15
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(COMMON_SRC) $(POLICY_SRC) $(NLPROXY_SRC)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. -o $@ $^ -lmnl

fuzz: $(FUZZ_TARGETS)
	@set -e; for f in $(FUZZ_TARGETS); do n=$$(basename $$f); echo "== $$f ($(FUZZ_SECONDS) s)"; \
	  mkdir -p $(B)/fuzz/corpus-$$n; \
	  if ! $$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=0 \
	       -artifact_prefix=$(B)/fuzz/$$n- $(B)/fuzz/corpus-$$n tests/fuzz/seeds >$(B)/fuzz/$$n.log 2>&1; then \
	    tail -n 30 $(B)/fuzz/$$n.log; echo "fuzz: $$n failed (input saved under $(B)/fuzz/)"; exit 1; fi; \
	  tail -n 1 $(B)/fuzz/$$n.log; done

demo: all $(TEST_TOOLS)
	bash tools/demo.sh $(B)
	bash tools/demo-shape.sh $(B)

# Benchmarks (README "Cost"): the tools, then the whole suite in namespaces.
BENCH_TOOLS := $(B)/bench/rr $(B)/bench/rr-static $(B)/bench/decide $(B)/bench/sockcalls \
               $(B)/bench/sockcalls-static
$(B)/bench/%-static: bench/%.c
	@mkdir -p $(dir $@)
	$(STATIC_LINK)
$(B)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(TOOL_LINK)
$(B)/bench/decide: bench/decide.c $(B)/libuoa.a
	@mkdir -p $(dir $@)
	$(CC) $(UOA_CFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.a,$^)

bench: all $(BENCH_TOOLS)
	bash bench/run.sh $(B)
	bash bench/scale.sh $(B)
	bash bench/shape.sh $(B)

# The cost against the number of slices alone (part of make bench).
bench-scale: all $(BENCH_TOOLS)
	bash bench/scale.sh $(B)

# Shaping alone (accuracy, unshaped cost with 1 000 shaped slices, setup).
bench-shape: all $(TEST_TOOLS)
	bash bench/shape.sh $(B)

deps:
	bash tools/install-deps.sh

# uoamap is in BINDIR: show and status are for every user. The policy file
# is installed only where none exists (a commented example; never replaced),
# with its drop-in directory.
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)
	install -m 0755 $(B)/uoad $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(B)/uoamap $(DESTDIR)$(BINDIR)/
	install -m 4755 $(B)/uoa-run $(DESTDIR)$(BINDIR)/
	install -m 0755 tools/uoa-shell $(DESTDIR)$(BINDIR)/
	install -m 0644 $(B)/libuoa-preload.so $(DESTDIR)$(LIBDIR)/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	           $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/uoa/uoa.conf.d
	install -m 0644 docs/man/uoa-run.1 docs/man/uoa-shell.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 docs/man/uoa.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 docs/man/uoad.8 docs/man/uoamap.8 $(DESTDIR)$(MANDIR)/man8/
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' docs/systemd/uoad.service \
	    >$(DESTDIR)$(UNITDIR)/uoad.service
	test -e $(DESTDIR)$(SYSCONFDIR)/uoa/uoa.conf || \
	    install -m 0644 docs/uoa.conf.example $(DESTDIR)$(SYSCONFDIR)/uoa/uoa.conf

# make install into a scratch root: every file in place, uoa-run setuid,
# the man pages readable by man(1).
INSTALLED := usr/bin/uoa-run usr/bin/uoa-shell usr/sbin/uoad usr/bin/uoamap usr/lib/uoa/libuoa-preload.so \
             usr/lib/systemd/system/uoad.service usr/share/man/man1/uoa-run.1 usr/share/man/man1/uoa-shell.1 usr/share/man/man5/uoa.conf.5 \
             usr/share/man/man8/uoad.8 usr/share/man/man8/uoamap.8 etc/uoa/uoa.conf
install-check: all
	@rm -rf $(B)/inst
	@$(MAKE) -s install DESTDIR=$(abspath $(B))/inst PREFIX=/usr >/dev/null
	@set -e; r=$(B)/inst; \
	for f in $(INSTALLED); do test -f $$r/$$f || { echo "missing $$f"; exit 1; }; done; \
	test -d $$r/etc/uoa/uoa.conf.d || { echo "missing etc/uoa/uoa.conf.d/"; exit 1; }; \
	test -u $$r/usr/bin/uoa-run || { echo "uoa-run is not setuid"; exit 1; }; \
	for m in $$r/usr/share/man/man*/*; do man -l $$m >/dev/null 2>&1 || { echo "bad man page $$m"; exit 1; }; done; \
	! grep -q '@S*BINDIR@' $$r/usr/lib/systemd/system/uoad.service; \
	echo "install-check: $(words $(INSTALLED)) files in place, uoa-run setuid, man pages render"

# The Debian package (debian/), built with dpkg-buildpackage in its own tree
# (build-deb/, debian/uoa/); the .deb and its .changes end up in $(B)/deb/.
DEB_VERSION = $(shell dpkg-parsechangelog -S Version)
DEB_ARCH    = $(shell dpkg-architecture -qDEB_HOST_ARCH)
DEB_OUT     = uoa_$(DEB_VERSION)_$(DEB_ARCH)
deb:
	@mkdir -p $(B)
	dpkg-buildpackage -us -uc -b --no-sign >$(B)/deb.log 2>&1 || { tail -n 40 $(B)/deb.log; exit 1; }
	@mkdir -p $(B)/deb
	@mv ../$(DEB_OUT).deb ../$(DEB_OUT).changes ../$(DEB_OUT).buildinfo $(B)/deb/
	@mv ../uoa-dbgsym_$(DEB_VERSION)_$(DEB_ARCH).deb $(B)/deb/ 2>/dev/null || true
	@debian/rules clean >>$(B)/deb.log 2>&1
	@echo "deb: $(abspath $(B))/deb/$(DEB_OUT).deb (log: $(B)/deb.log)"

# The package: built, lintian-clean (no error, no warning that debian/
# does not justify), and installed into a scratch root with the files and
# the setuid bit where they belong.
deb-check: deb
	bash tools/deb-check.sh $(B)/deb/$(DEB_OUT).changes

clean:
	rm -rf build build-asan build-deb

help:
	@echo "make [all|check|unit|fuzz|integration|asan|demo|bench|bench-shape|deps|install|install-check|deb|deb-check|clean]"

-include $(wildcard $(B)/obj/*/*.d $(B)/bpf/*.d $(B)/tests/*.d $(B)/bench/*.d)

.PHONY: all unit integration check asan fuzz demo bench bench-scale bench-shape deps install install-check deb deb-check clean help
.DELETE_ON_ERROR:
