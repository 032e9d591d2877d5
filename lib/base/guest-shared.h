/* The guest's shared directory: the host copies bind-mount sources there with the Agent API's
 * CopyFile (lib/agent/copy.c, guest-agent/rpc/files.c) and containers bind-mount the copies. */
#pragma once

/* A tmpfs of its own in the guest, mode 0700 root; never visible to containers as a whole. */
#define SBX_GUEST_SHARED_DIR "/run/sbx/shared"
/* CopyFile limits: data per call, length of a path or symlink target, the directory's total. */
#define SBX_COPY_MAX_DATA (1u << 20)
#define SBX_COPY_MAX_PATH 4095u
#define SBX_SHARED_MAX_TOTAL (64ull << 20)
