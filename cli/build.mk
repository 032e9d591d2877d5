# cli/: sbx, the docker-like command line. One cmd-<verb>.c per verb.
BINS += $(BIN)/sbx
CLI_SRCS := $(wildcard cli/*.c)

$(BIN)/sbx: $(call objs,$(VARIANT),$(CLI_SRCS)) $(call libs,$(VARIANT),sbximage sbxrootfs \
		sbxagentclient sbxsandbox sbxttrpc sbxproto sbxbase)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(VARIANT_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) \
		-ljansson -larchive -lcrypto -lcurl -lprotobuf-c -lpthread
