# guest-agent: container building (libsbxagentct, linked into sbx-agent and the test driver).
LIBS += sbxagentct
LIB_SRCS_sbxagentct := $(wildcard guest-agent/container/*.c)

# Test-only driver: runs one container from a bundle (tests/host/test_agent_container.sh).
TEST_BINS += $(BUILD)/tests/ct-driver
$(BUILD)/tests/ct-driver: $(BUILD)/obj-$(VARIANT)/tests/probe/ct-driver.o \
		$(call libs,$(VARIANT),sbxagentct sbxoci sbxbase)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(VARIANT_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(SYS_LIBS)
