# lib/oci: OCI runtime spec (config.json) parsing and validation; linked into the agent.
LIBS += sbxoci
LIB_SRCS_sbxoci := lib/oci/spec.c lib/oci/spec-linux.c
