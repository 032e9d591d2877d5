# lib/base: libc-only helpers linked into every binary, the agent included.
LIBS += sbxbase
LIB_SRCS_sbxbase := $(wildcard lib/base/*.c)
