# rootfs-builder/: the guest initrd (and, later, OCI images turned into disk images).
$(BUILD)/guest/initrd.img: rootfs-builder/mkinitrd.sh $(wildcard $(BIN)/sbx-agent)
	@rootfs-builder/mkinitrd.sh $@ $(wildcard $(BIN)/sbx-agent)
