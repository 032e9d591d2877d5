# lib/image: the CLI's image store (blobs, references) and image archive loading.
LIBS += sbximage
LIB_SRCS_sbximage := $(wildcard lib/image/*.c)

# Test-only probe: an image's cached ext4 or tar rootfs built without a VM
# (tests/host/test_image_rootfs.sh, tests/bench/bench_image_convert.sh).
TEST_BINS += $(BUILD)/tests/rootfs-convert
$(BUILD)/tests/rootfs-convert: $(BUILD)/obj-$(VARIANT)/tests/probe/rootfs-convert.o \
		$(call libs,$(VARIANT),sbximage sbxrootfs sbxbase)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(VARIANT_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(SYS_LIBS)
