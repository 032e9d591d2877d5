# kata-lite: one Makefile. Each component lists its sources in <dir>/build.mk; the rules that
# turn sources into objects, libraries, binaries and tests live here, once.

BUILD    := build
BIN      := $(BUILD)/bin
GEN      := $(BUILD)/gen
ifeq ($(origin CC),default)
CC := gcc
endif
CLANG    ?= clang
SANITIZE ?= 0
PREFIX   ?= /usr/local

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wvla -Wmissing-prototypes \
	-Wimplicit-fallthrough -Wno-unused-parameter
BASE_CFLAGS := -std=gnu11 -g -O2 $(WARN) -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
	-I lib -I . -I $(GEN) -I tests/unit -MMD -MP
SAN_CFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -g -O1 -I lib -I . -I $(GEN) -fsanitize=fuzzer-no-link,address,undefined

# Binaries are plain unless SANITIZE=1 (then in build/san/bin; tests take SBX_BIN=build/san/bin); unit tests and fuzz replays are always instrumented.
ifeq ($(SANITIZE),1)
BIN := $(BUILD)/san/bin
VARIANT := san
VARIANT_CFLAGS := $(SAN_CFLAGS)
VARIANT_LDFLAGS := $(SAN_CFLAGS)
else
VARIANT := plain
endif

# Quiet by default; `make V=1` shows the commands.
ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-7s %s\n' $(1) $(2);
endif

SYS_LIBS := -lseccomp -lprotobuf-c -ljansson -lfdt -larchive -lcrypto -lcurl -lmnl -lslirp -lpthread

.DEFAULT_GOAL := all
.SECONDARY:
.PHONY: all deps kernel kernel-check initrd images test test-unit test-host test-vm bench install \
	clean demo fuzz format format-check lint check-deps

# Filled by build.mk files: LIBS (names), BINS (installed programs under $(BIN)), TEST_BINS
# (helpers tests need, built by `all` but never installed).
LIBS :=
BINS :=
TEST_BINS :=
PROTOS := $(wildcard proto/*.proto)
PROTO_C := $(patsubst proto/%.proto,$(GEN)/proto/%.pb-c.c,$(PROTOS))
PROTO_H := $(PROTO_C:.c=.h)

# $(call objs,variant,sources)
objs = $(patsubst %.c,$(BUILD)/obj-$(1)/%.o,$(2))
# $(call libs,variant,names): archive paths in link order
libs = $(foreach l,$(2),$(BUILD)/lib-$(1)/lib$(l).a)

include $(sort $(wildcard lib/*/build.mk)) $(wildcard */build.mk)

$(BUILD)/obj-plain/%.o: %.c | $(PROTO_H)
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(BASE_CFLAGS) -c $< -o $@
$(BUILD)/obj-san/%.o: %.c | $(PROTO_H)
	@mkdir -p $(@D)
	$(call say,CC-SAN,$<)$(CC) $(BASE_CFLAGS) $(SAN_CFLAGS) -c $< -o $@
$(BUILD)/obj-fuzz/%.o: %.c | $(PROTO_H)
	@mkdir -p $(@D)
	$(call say,CC-FUZZ,$<)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

# Generated protobuf-c code is compiled without our warning set: it is not ours.
$(BUILD)/obj-plain/$(GEN)/%.o: $(GEN)/%.c | $(PROTO_H)
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) -std=gnu11 -g -O2 -I $(GEN) -c $< -o $@
$(BUILD)/obj-san/$(GEN)/%.o: $(GEN)/%.c | $(PROTO_H)
	@mkdir -p $(@D)
	$(call say,CC-SAN,$<)$(CC) -std=gnu11 -g -O1 $(SAN_CFLAGS) -I $(GEN) -c $< -o $@
$(BUILD)/obj-fuzz/$(GEN)/%.o: $(GEN)/%.c | $(PROTO_H)
	@mkdir -p $(@D)
	$(call say,CC-FUZZ,$<)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(GEN)/proto/%.pb-c.c $(GEN)/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(GEN)
	$(call say,PROTO,$<)protoc-c --c_out=$(GEN) $<

# Each library NAME has sources in LIB_SRCS_NAME; one archive per variant.
define lib_rules
$(BUILD)/lib-plain/lib$(1).a: $(call objs,plain,$(LIB_SRCS_$(1)))
$(BUILD)/lib-san/lib$(1).a: $(call objs,san,$(LIB_SRCS_$(1)))
$(BUILD)/lib-fuzz/lib$(1).a: $(call objs,fuzz,$(LIB_SRCS_$(1)))
endef
$(foreach l,$(LIBS),$(eval $(call lib_rules,$(l))))
define archive
	@mkdir -p $(@D)
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^
endef
$(BUILD)/lib-plain/%.a:
	$(archive)
$(BUILD)/lib-san/%.a:
	$(archive)
$(BUILD)/lib-fuzz/%.a:
	$(archive)

LINK_LIBS = -Wl,--start-group $(filter %.a,$^) -Wl,--end-group

# ---- unit tests: tests/unit/<src path>/test-<file>.c, linked with every library ----------------
UNIT_SRCS := $(shell find tests/unit -name 'test-*.c' 2>/dev/null)
UNIT_SUPPORT := $(filter-out $(UNIT_SRCS),$(shell find tests/unit -name '*.c' 2>/dev/null))
UNIT_BINS := $(patsubst %.c,$(BUILD)/%,$(UNIT_SRCS))

$(BUILD)/tests/unit/%: $(BUILD)/obj-san/tests/unit/%.o $(call objs,san,$(UNIT_SUPPORT)) \
		$(call libs,san,$(LIBS))
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(SAN_CFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(SYS_LIBS)

# ---- fuzz targets: <dir>/fuzz-<name>.c; replayed over tests/corpus/<name>/ by make test ------
FUZZ_SRCS := $(shell find lib vmm guest-agent shim cli rootfs-builder -name 'fuzz-*.c' 2>/dev/null)
FUZZ_REPLAY := $(patsubst %.c,$(BUILD)/fuzz-replay/%,$(FUZZ_SRCS))
FUZZ_BINS := $(patsubst %.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

$(BUILD)/fuzz-replay/%: $(BUILD)/obj-san/%.o $(BUILD)/obj-san/tests/fuzz-main.o \
		$(call libs,san,$(LIBS))
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(SAN_CFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(SYS_LIBS)
$(BUILD)/fuzz/%: $(BUILD)/obj-fuzz/%.o $(call libs,fuzz,$(LIBS))
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CLANG) -fsanitize=fuzzer,address,undefined -o $@ $(filter %.o,$^) $(LINK_LIBS) $(SYS_LIBS)

# ---- top-level targets -----------------------------------------------------------------------
all: $(BINS) $(TEST_BINS)

deps:
	@tools/install-deps

kernel:
	@guest-kernel-config/build.sh $(BUILD)/guest

kernel-check: kernel
	@guest-kernel-config/check.sh guest-kernel-config/required.txt $(BUILD)/guest/config

test-unit: $(UNIT_BINS) $(FUZZ_REPLAY)
# The README's test command: install what is missing, build, run both levels.
test:
	@tools/install-deps
	@$(MAKE) --no-print-directory all kernel initrd images test-unit
	@tests/run all

bench: all kernel initrd $(BUILD)/bench/blk-model
	@tests/bench/run

fuzz: $(FUZZ_BINS)
	@tests/fuzz-run $(FUZZ_BINS)

demo:
	@tools/install-deps
	@$(MAKE) --no-print-directory all kernel initrd
	@tools/demo

install: all kernel initrd
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/kata-lite
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(wildcard $(BUILD)/guest/vmlinux $(BUILD)/guest/bzImage $(BUILD)/guest/initrd.img) \
		$(DESTDIR)$(PREFIX)/share/kata-lite/

clean:
	rm -rf $(BUILD)

C_SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(C_SOURCES)
format-check:
	@clang-format --dry-run --Werror $(C_SOURCES)

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		-I lib -I . --suppress=missingIncludeSystem $(filter %.c,$(C_SOURCES))

check-deps:
	@tools/check-deps

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# The guest initrd holds sbx-agent as /init; rootfs-builder/ owns how it is made.
initrd: $(BUILD)/guest/initrd.img
images: $(BUILD)/images/busybox.tar
