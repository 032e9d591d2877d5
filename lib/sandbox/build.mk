# lib/sandbox: start sbx-vmm, wait for the agent, reach guest ports, clean up.
LIBS += sbxsandbox
LIB_SRCS_sbxsandbox := $(wildcard lib/sandbox/*.c)
