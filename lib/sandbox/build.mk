# lib/sandbox: start sbx-vmm, wait for the agent, reach guest ports, clean up.
LIBS += sbxsandbox
LIB_SRCS_sbxsandbox := $(wildcard lib/sandbox/*.c)

# Test-only driver: one sandbox started, killed and cleaned up (tests/vm/test_sandbox_lifecycle.sh).
TEST_BINS += $(BUILD)/tests/sandbox-driver
$(BUILD)/tests/sandbox-driver: $(BUILD)/obj-$(VARIANT)/tests/probe/sandbox-driver.o \
		$(call libs,$(VARIANT),sbxsandbox sbxbase)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(VARIANT_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(SYS_LIBS)
