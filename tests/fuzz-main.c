/* Replays a libFuzzer target over files and directories without libFuzzer, so every corpus file
 * is a regression test under ASan/UBSan in `make test`. Prints TAP, one line per input. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_count;

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	if (!f) {
		printf("not ok %d - open %s\n", ++replay_count, path);
		return 1;
	}
	/* Inputs are bounded: libFuzzer's default max_len is 4096; we allow more for seeds. */
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		return 1;
	memcpy(copy, buf, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	printf("ok %d - %s\n", ++replay_count, path);
	return 0;
}

static int replay_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		printf("not ok %d - missing %s\n", ++replay_count, path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	struct dirent **names = NULL;
	int n = scandir(path, &names, NULL, alphasort);
	int failed = 0;
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			char child[4096];
			snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name);
			failed |= replay_path(child);
		}
		free(names[i]);
	}
	free(names);
	return failed;
}

int main(int argc, char **argv)
{
	int failed = 0;
	for (int i = 1; i < argc; i++)
		failed |= replay_path(argv[i]);
	printf("1..%d\n", replay_count);
	return failed;
}
