# lib/image: the CLI's image store (blobs, references) and image archive loading.
LIBS += sbximage
LIB_SRCS_sbximage := $(wildcard lib/image/*.c)
