# lib/net: rtnetlink (libmnl) for taps, tc redirects and reading what CNI configured.
LIBS += sbxnet
LIB_SRCS_sbxnet := $(wildcard lib/net/*.c)
