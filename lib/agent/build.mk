# lib/agent: the host-side client of the Agent API.
LIBS += sbxagentclient
LIB_SRCS_sbxagentclient := $(wildcard lib/agent/*.c)

# Test-only driver: the Agent API against a booted guest (tests/vm/test_agent_api.sh).
TEST_BINS += $(BUILD)/tests/agent-driver
$(BUILD)/tests/agent-driver: $(BUILD)/obj-$(VARIANT)/tests/probe/agent-driver.o \
		$(call libs,$(VARIANT),sbxagentclient sbxsandbox sbxttrpc sbxproto sbxbase)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(VARIANT_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(SYS_LIBS)
