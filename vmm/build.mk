# vmm/: sbx-vmm and the KVM probe. Everything but the mains is in libsbxvmm so tests link it.
VMM_MAINS := vmm/main.c vmm/kvm-probe-main.c vmm/vmmctl-main.c
LIBS += sbxvmm
LIB_SRCS_sbxvmm := $(filter-out $(VMM_MAINS) %/fuzz-%.c,$(shell find vmm -name '*.c'))
BINS += $(BIN)/kvm-probe $(BIN)/sbx-vmm $(BIN)/sbx-vmmctl

$(BIN)/kvm-probe: $(BUILD)/obj-$(VARIANT)/vmm/kvm-probe-main.o \
		$(call libs,$(VARIANT),sbxvmm sbxbase)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(VARIANT_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS)

$(BIN)/sbx-vmm: $(BUILD)/obj-$(VARIANT)/vmm/main.o \
		$(call libs,$(VARIANT),sbxvmm sbxnet sbxttrpc sbxproto sbxbase)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(VARIANT_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) -lslirp -lmnl -lseccomp \
		-lprotobuf-c -lpthread

$(BIN)/sbx-vmmctl: $(BUILD)/obj-$(VARIANT)/vmm/vmmctl-main.o \
		$(call libs,$(VARIANT),sbxttrpc sbxproto sbxbase)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(VARIANT_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) \
		-lprotobuf-c -lpthread

# make bench: the in-process virtio-blk model benchmark.
$(BUILD)/bench/blk-model: $(BUILD)/obj-plain/tests/bench/blk-model.o \
		$(call libs,plain,sbxvmm sbxbase)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) -o $@ $(filter %.o,$^) $(LINK_LIBS) -lpthread
