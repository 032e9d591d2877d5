# shim/: containerd-shim-kata-lite-v2, the containerd runtime v2 shim. Everything but main.c is
# the library sbxshim, so unit tests reach the config reader and the task helpers.
LIBS += sbxshim
LIB_SRCS_sbxshim := $(filter-out shim/main.c %/fuzz-%.c,$(wildcard shim/*.c))
BINS += $(BIN)/containerd-shim-kata-lite-v2

$(BIN)/containerd-shim-kata-lite-v2: $(BUILD)/obj-$(VARIANT)/shim/main.o \
		$(call libs,$(VARIANT),sbxshim sbxrootfs sbxagentclient sbxsandbox sbxnet sbxttrpc \
		sbxproto sbxbase)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(VARIANT_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) \
		-ljansson -larchive -lcrypto -lmnl -lprotobuf-c -lpthread

TEST_BINS += $(BUILD)/tests/shim-call
$(BUILD)/tests/shim-call: $(BUILD)/obj-$(VARIANT)/tests/probe/shim-call.o \
		$(call libs,$(VARIANT),sbxttrpc sbxproto sbxbase)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(VARIANT_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) -lprotobuf-c -lpthread
