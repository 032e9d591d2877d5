# guest-agent: sbx-agent (PID 1 and the Agent API, libsbxagent) and container building
# (libsbxagentct, linked into sbx-agent and the test driver).
LIBS += sbxagentct
LIB_SRCS_sbxagentct := $(wildcard guest-agent/container/*.c)

# Test-only driver: runs one container from a bundle (tests/host/test_agent_container.sh).
TEST_BINS += $(BUILD)/tests/ct-driver
$(BUILD)/tests/ct-driver: $(BUILD)/obj-$(VARIANT)/tests/probe/ct-driver.o \
		$(call libs,$(VARIANT),sbxagentct sbxoci sbxbase)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(VARIANT_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(SYS_LIBS)

# Test-only driver: ConfigureNetwork's apply step in the caller's network namespace
# (tests/host/test_agent_network.sh).
TEST_BINS += $(BUILD)/tests/net-driver
$(BUILD)/tests/net-driver: $(BUILD)/obj-$(VARIANT)/tests/probe/net-driver.o \
		$(call libs,$(VARIANT),sbxagent sbxproto sbxbase)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(VARIANT_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(SYS_LIBS)

# sbx-agent: static (it is the guest's whole userland besides busybox), always the plain variant.
LIBS += sbxagent
LIB_SRCS_sbxagent := guest-agent/init.c guest-agent/state.c guest-agent/rootfs.c \
	guest-agent/streams.c guest-agent/untar.c guest-agent/passwd.c guest-agent/netlink.c \
	$(wildcard guest-agent/rpc/*.c)
AGENT_STATIC_LIBS := -lseccomp -ljansson -lprotobuf-c -lpthread
BINS += $(BUILD)/bin/sbx-agent
$(BUILD)/bin/sbx-agent: $(BUILD)/obj-plain/guest-agent/main.o \
		$(call libs,plain,sbxagent sbxagentct sbxoci sbxttrpc sbxproto sbxbase)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) -static -Wl,--gc-sections -o $@ $(filter %.o,$^) $(LINK_LIBS) \
		$(AGENT_STATIC_LIBS)
