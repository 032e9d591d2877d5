/* sbx run [FLAGS] IMAGE [CMD...]: the image's config and the flags make a container spec; one
 * microVM runs it in the foreground with stdio attached; sbx exits with the container's status
 * (125 for sbx's own errors, like docker). */
#define _GNU_SOURCE
#include "cli/cli.h"
#include "cli/run.h"

#include "image/config.h"
#include "image/rootfs.h"
#include "image/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_memory(const char *s, int64_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno || s[0] == '-')
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'b':
	case 'B':
		end++;
		break;
	}
	if (*end || v == 0 || v > (1ull << 40) >> shift)
		return -1;
	*ret = (int64_t)(v << shift);
	return *ret >= 4 << 20 ? 0 : -1; /* docker's minimum is 6 MiB; a guest needs some */
}

static int parse_cpus(const char *s, int *ret_milli)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v >= 0.01 && v <= 64))
		return -1;
	*ret_milli = (int)(v * 1000 + 0.5);
	return 0;
}

static int add_env(struct run_opts *o, const char *kv)
{
	if (!kv[0] || kv[0] == '=')
		return -1;
	char **more = realloc(o->env, (o->nenv + 1) * sizeof(*more));
	if (!more)
		return -1;
	o->env = more;
	/* docker: "-e NAME" alone passes NAME from sbx's own environment */
	if (!strchr(kv, '=')) {
		const char *v = getenv(kv);
		if (!v)
			return 0;
		char *s;
		if (asprintf(&s, "%s=%s", kv, v) < 0)
			return -1;
		o->env[o->nenv++] = s;
		return 0;
	}
	o->env[o->nenv] = strdup(kv);
	return o->env[o->nenv++] ? 0 : -1;
}

static int read_env_file(struct run_opts *o, const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char line[8192];
	int r = 0;
	while (r == 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] && line[0] != '#')
			r = add_env(o, line);
	}
	fclose(f);
	return r;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sbx run [--rm] [-i] [--name N] [-e K=V] [--env-file F] [-w DIR]\n"
		   "               [-u UID[:GID]] [--cpus N] [--memory SIZE] [--read-only]\n"
		   "               [--hostname H] [--entrypoint E] IMAGE [CMD...]\n");
}

enum {
	OPT_RM = 256,
	OPT_NAME,
	OPT_ENV_FILE,
	OPT_CPUS,
	OPT_MEMORY,
	OPT_READ_ONLY,
	OPT_HOSTNAME,
	OPT_ENTRYPOINT,
	OPT_HELP
};

static const struct option options[] = {
    {"rm", no_argument, NULL, OPT_RM},
    {"interactive", no_argument, NULL, 'i'},
    {"name", required_argument, NULL, OPT_NAME},
    {"env", required_argument, NULL, 'e'},
    {"env-file", required_argument, NULL, OPT_ENV_FILE},
    {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"read-only", no_argument, NULL, OPT_READ_ONLY},
    {"hostname", required_argument, NULL, OPT_HOSTNAME},
    {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int parse(struct run_opts *o, int argc, char **argv)
{
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+ie:w:u:m:", options, NULL)) != -1) {
		switch (c) {
		case OPT_RM:
			o->rm = true;
			break;
		case 'i':
			o->interactive = true;
			break;
		case OPT_NAME:
			o->name = optarg;
			break;
		case 'e':
			if (add_env(o, optarg) < 0)
				return cli_usage_error("run", "bad -e '%s'", optarg);
			break;
		case OPT_ENV_FILE:
			if (read_env_file(o, optarg) < 0)
				return cli_usage_error("run", "cannot read env file '%s'", optarg);
			break;
		case 'w':
			if (optarg[0] != '/' || strstr(optarg, ".."))
				return cli_usage_error("run", "workdir '%s' must be absolute",
						       optarg);
			o->workdir = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		case OPT_CPUS:
			if (parse_cpus(optarg, &o->cpus_milli) < 0)
				return cli_usage_error("run", "--cpus '%s' is not 0.01..64",
						       optarg);
			break;
		case 'm':
		case OPT_MEMORY:
			if (parse_memory(optarg, &o->memory_bytes) < 0)
				return cli_usage_error("run", "--memory '%s' is not a size >= 4m",
						       optarg);
			break;
		case OPT_READ_ONLY:
			o->read_only = true;
			break;
		case OPT_HOSTNAME:
			o->hostname = optarg;
			break;
		case OPT_ENTRYPOINT:
			o->entrypoint = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			return -1;
		default:
			if (optopt && optopt < 256)
				return cli_usage_error(
				    "run", "unknown flag '-%c' (see sbx run --help)", optopt);
			return cli_usage_error("run", "unknown or incomplete flag '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error("run", "no image given");
	o->image = argv[optind];
	o->args = argv + optind + 1;
	o->nargs = (size_t)(argc - optind - 1);
	return 0;
}

int cmd_run(struct cli *cli, int argc, char **argv)
{
	struct run_opts o = {0};
	struct sbx_err err = {0};
	int r = parse(&o, argc, argv);
	if (r != 0) {
		free(o.env);
		return r < 0 ? 0 : r;
	}
	if (!o.hostname)
		o.hostname = "sbx";
	struct run_assets assets;
	struct image_store s;
	struct image_config cfg = {0};
	char *spec = NULL, ref[512], digest[IMAGE_DIGEST_MAX], rootfs[4300];
	int status = SBX_EXIT_ERROR;
	if (run_find_assets(&assets, &err) < 0)
		goto report;
	if (cli_open_store(cli, &s, &err) < 0)
		goto report;
	if (image_ref_normalize(o.image, ref, sizeof(ref), &err) < 0 ||
	    image_ref_get(&s, ref, digest, &err) < 0 ||
	    image_config_load(&s, digest, &cfg, &err) < 0 ||
	    image_rootfs_ext4(&s, digest, rootfs, sizeof(rootfs), NULL, &err) < 0 ||
	    run_spec_json(&o, &cfg, &spec, &err) < 0) {
		image_store_close(&s);
		goto report;
	}
	image_store_close(&s);
	r = run_sandbox(&o, cli->root, &assets, spec, rootfs, &err);
	if (r < 0)
		goto report;
	status = r;
	goto out;
report:
	status = cli_report(cli, &err);
out:
	free(spec);
	image_config_free(&cfg);
	for (size_t i = 0; i < o.nenv; i++)
		free(o.env[i]);
	free(o.env);
	return status;
}
