/*
 * fake_pyxis.c - a SPANK plugin that stands in for NVIDIA pyxis on the CI test cluster.
 *
 * Why: generated sbatch scripts pass pyxis options (--container-image, --container-mounts,
 * --no-container-mount-home, ...) to srun. Without pyxis loaded, srun rejects them as
 * unknown options, so the scripts could not run at all on a plain Slurm. Real containers
 * (enroot) are not available here, so this plugin:
 *   1. registers the same option names, so sbatch/srun/salloc accept them;
 *   2. exports each given option to the task as FAKE_PYXIS_<NAME>=<value>
 *      (e.g. FAKE_PYXIS_CONTAINER_IMAGE), so tests can check what a script asked for;
 *   3. emulates --container-mounts=SRC[:DST[:FLAGS]],... with bind mounts in a private
 *      mount namespace of each task (the task runs as root on the host; a missing DST is
 *      created on the real filesystem as an empty mount point); FLAGS "ro" is honoured;
 *   4. honours --container-workdir by chdir()-ing into it before the task starts.
 * Nothing else is containerised: the "image" is the host itself.
 *
 * plugstack.conf:   required /path/fake_pyxis.so [bind=0]
 *   bind=0 turns the mount emulation off (options are still accepted and exported).
 * Build:            gcc -O2 -shared -fPIC -o fake_pyxis.so fake_pyxis.c   (libslurm-dev)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <slurm/spank.h>

/* Named "pyxis" so that the option-to-plugin mapping in job env vars looks like pyxis'. */
SPANK_PLUGIN(pyxis, 1);

struct opt {
    const char *name;
    int has_arg;
};

/* pyxis' option set (flags take no argument). Index constants below must match. */
static const struct opt OPTS[] = {
    {"container-image", 1},          {"container-mounts", 1},
    {"container-workdir", 1},        {"container-name", 1},
    {"container-save", 1},           {"container-env", 1},
    {"container-mount-home", 0},     {"no-container-mount-home", 0},
    {"container-remap-root", 0},     {"no-container-remap-root", 0},
    {"container-entrypoint", 0},     {"no-container-entrypoint", 0},
    {"container-entrypoint-log", 0}, {"container-writable", 0},
    {"container-readonly", 0},
};
#define NOPTS ((int)(sizeof OPTS / sizeof OPTS[0]))
enum { O_MOUNTS = 1, O_WORKDIR = 2 };

static char *values[NOPTS];
static int emulate_mounts = 1;

static int option_cb(int val, const char *optarg, int remote)
{
    (void)remote;
    if (val < 0 || val >= NOPTS)
        return -1;
    free(values[val]);
    /* Flags arrive with a NULL or empty optarg; record them as "1". */
    values[val] = strdup((optarg && *optarg) ? optarg : "1");
    return values[val] ? 0 : -1;
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
    for (int i = 0; i < ac; i++)
        if (!strcmp(av[i], "bind=0"))
            emulate_mounts = 0;
    for (int i = 0; i < NOPTS; i++) {
        struct spank_option so = {
            .name = (char *)OPTS[i].name,
            .arginfo = OPTS[i].has_arg ? (char *)"ARG" : NULL,
            .usage = (char *)"[fake pyxis on the CI cluster: accepted, not containerised]",
            .has_arg = OPTS[i].has_arg,
            .val = i,
            .cb = (spank_opt_cb_f)option_cb,
        };
        if (spank_option_register(sp, &so) != ESPANK_SUCCESS)
            return -1;
    }
    return 0;
}

static void mkdir_parents(const char *path, int include_last)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0755);
            *p = '/';
        }
    }
    if (include_last)
        mkdir(buf, 0755);
}

/* Bind one "SRC[:DST[:FLAGS]]" entry. Returns 0 or -1 (after logging). */
static int bind_one(char *spec)
{
    char *src = spec, *dst = strchr(spec, ':'), *flags = NULL;
    if (dst) {
        *dst++ = 0;
        flags = strchr(dst, ':');
        if (flags)
            *flags++ = 0;
    } else {
        dst = src; /* pyxis: a single path mounts it at the same place */
    }
    struct stat st;
    if (stat(src, &st) != 0) {
        slurm_error("fake_pyxis: mount source %s: %s", src, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        mkdir_parents(dst, 1);
    } else { /* a file mount needs an existing file to mount over */
        mkdir_parents(dst, 0);
        FILE *f = fopen(dst, "a");
        if (f)
            fclose(f);
    }
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) != 0) {
        slurm_error("fake_pyxis: bind %s -> %s: %s", src, dst, strerror(errno));
        return -1;
    }
    if (flags && strstr(flags, "ro") &&
        mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
        slurm_error("fake_pyxis: read-only remount of %s: %s", dst, strerror(errno));
    return 0;
}

/* Runs in slurmstepd's child for each task, as root, before privileges are dropped. */
int slurm_spank_task_init_privileged(spank_t sp, int ac, char **av)
{
    (void)ac;
    (void)av;
    if (!spank_remote(sp))
        return 0;
    for (int i = 0; i < NOPTS; i++) {
        if (!values[i])
            continue;
        char env[96] = "FAKE_PYXIS_";
        size_t n = strlen(env);
        for (const char *c = OPTS[i].name; *c && n < sizeof env - 1; c++)
            env[n++] = (*c == '-') ? '_' : (char)((*c >= 'a' && *c <= 'z') ? *c - 'a' + 'A' : *c);
        env[n] = 0;
        spank_setenv(sp, env, values[i], 1);
    }
    if (!emulate_mounts || !values[O_MOUNTS])
        return 0;
    /* Private mount namespace: the binds are seen by this task only, never by the host. */
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        slurm_error("fake_pyxis: private mount namespace: %s", strerror(errno));
        return -1;
    }
    char *list = strdup(values[O_MOUNTS]), *save = NULL;
    int rc = 0;
    for (char *m = strtok_r(list, ",", &save); m && rc == 0; m = strtok_r(NULL, ",", &save))
        rc = bind_one(m);
    free(list);
    return rc;
}

/* Runs in the task after slurmstepd chdir()ed to the job's cwd, just before exec. */
int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
    (void)ac;
    (void)av;
    if (!spank_remote(sp) || !values[O_WORKDIR])
        return 0;
    if (chdir(values[O_WORKDIR]) != 0) {
        /* Lenient on purpose: the dir may exist only inside the real image. */
        slurm_error("fake_pyxis: chdir %s: %s (staying in the job cwd)", values[O_WORKDIR],
                    strerror(errno));
        return 0;
    }
    spank_setenv(sp, "PWD", values[O_WORKDIR], 1);
    return 0;
}
