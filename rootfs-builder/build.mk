# rootfs-builder/: the guest initrd, and OCI image layers turned into rootfs trees and disk
# images (libsbxrootfs, shared with the CLI and the shim; sbx-rootfs is its command line).
LIBS += sbxrootfs
LIB_SRCS_sbxrootfs := rootfs-builder/layers.c rootfs-builder/ext4.c rootfs-builder/tarball.c
BINS += $(BIN)/sbx-rootfs

$(BIN)/sbx-rootfs: $(BUILD)/obj-$(VARIANT)/rootfs-builder/main.o \
		$(call libs,$(VARIANT),sbxrootfs sbxbase)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(VARIANT_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) -larchive

$(BUILD)/guest/initrd.img: rootfs-builder/mkinitrd.sh $(BUILD)/bin/sbx-agent
	$(call say,INITRD,$@)rootfs-builder/mkinitrd.sh $@ $(BUILD)/bin/sbx-agent

# The demo image, built locally from busybox-static.
$(BUILD)/images/busybox.tar: rootfs-builder/mk-demo-image.sh
	$(call say,IMAGE,$@)rootfs-builder/mk-demo-image.sh $@
