/* Directory trees. */
#pragma once

/* Removes path and everything under it, never following symlinks. A missing path is done
 * already: 0. Otherwise -errno of the first entry that would not go. */
int sbx_remove_tree(const char *path);
