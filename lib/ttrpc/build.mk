# lib/ttrpc: the one RPC stack (ttrpc framing + protobuf-c), client and server. The generated
# protobuf code of every proto/*.proto is its sibling library sbxproto.
LIBS += sbxttrpc sbxproto
LIB_SRCS_sbxttrpc := $(filter-out %/fuzz-frame.c,$(wildcard lib/ttrpc/*.c))
LIB_SRCS_sbxproto := $(PROTO_C)
