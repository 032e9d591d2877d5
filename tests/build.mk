# tests/: programs the tests run, built but never installed.

# Both ends of the vsock tests: static, because the guest half runs in the test initrd.
TEST_BINS += $(BUILD)/tests/vsock-peer
$(BUILD)/tests/vsock-peer: tests/probe/vsock-peer.c
	@mkdir -p $(@D)
	$(call say,CC,$@)$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static -pthread -o $@ $<
