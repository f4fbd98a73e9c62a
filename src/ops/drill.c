/* `nodown drill` (see drill.h).
 *
 * The run, each stage a function below:
 *
 *   drill_prepare   the directory, this binary, e2e_node, the old
 *                   binaries (tools/nats_release.sh, tools/release_build.sh)
 *                   or the fallbacks
 *   drill_start     cluster up on them; the tree; the load and the churn;
 *                   a warm-up, then the steady window
 *   drill_upgrade   the NATS servers, the nodes, the rehearsal, the
 *                   activation, the commissions, more load
 *   drill_finish    the load stopped, the market settled, e2e_node check
 *                   over every member's log, nodown verify; always run,
 *                   then cluster down
 *
 * A stage that fails ends the upgrade; drill_finish still checks what was
 * acknowledged and stops the cluster, and the report says where it
 * stopped. Every child runs with a time limit (and the whole drill with
 * one), and the load stops by itself after it. */
#include "ops/drill.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gateway/admin_http.h"
#include "lib/clock.h"
#include "ops/cluster.h"
#include "ops/drill_load.h"
#include "replica/nats_supervisor.h"
#include "replica/versions.h"

extern char **environ;

#define DRILL_STEPS_MAX 40u
#define DRILL_OUT_SIZE (1u << 20) /* a child's stdout kept: the rehearsal's JSON */
#define DRILL_FDS_CLOSE_MAX 1024
#define DRILL_ENV_MAX 512u
#define DRILL_DETAIL_SIZE 768u
#define DRILL_LOGIC_TARGET 3u
#define DRILL_NATS_OLD "2.9.10"
#define DRILL_RELEASE_OLD "0.1.0"
/* How long after its outcome the activation's window lasts: the other
 * nodes migrate as they apply it. */
#define DRILL_ACTIVATION_TAIL_MS 1000
/* A child's pipes once it has exited: a process it left running may
 * still hold them. */
#define DRILL_PIPE_GRACE_MS 2000

/* How big a drill is. */
struct drill_shape {
    const char *name;
    uint32_t nats_count, node_count;
    bool dr;
    uint32_t masters, agents_per_master, members_per_agent;
    uint32_t rate;          /* commands per second and member */
    int steady_s, after_s;  /* the plain load before, and at logic 3 after */
    int time_limit_s;
};

static const struct drill_shape drill_full = {"full", 3, 7, true, 2, 2, 3, 50, 10, 15, 2700};
static const struct drill_shape drill_short = {"short", 3, 3, true, 2, 1, 2, 40, 3, 5, 600};

struct drill_step {
    char kind[16];  /* steady, nats, node, rehearsal, activation, commission, load */
    char name[40];
    int64_t started_unix_ms;
    int64_t ended_unix_ms; /* 0: it did not end */
    int64_t gap_ms;        /* the longest acknowledgement gap in its window */
    uint32_t gap_member;
    bool ok;
    char detail[DRILL_DETAIL_SIZE]; /* its own JSON fields, each after a ',' */
};

struct drill_check {
    bool ran;
    int exit;
    uint64_t acknowledged, resends, errors, lost, duplicated, applied_seq;
    char digest[40];
};

struct drill_verify {
    bool ran;
    int exit;
    bool ok;
    uint64_t at;
    char digest[40];
    uint32_t nodes, agree;
};

struct drill_outcome {
    bool sent;
    uint16_t result;
    uint64_t stream_seq;
    int64_t value;
    int64_t ms;
    uint32_t attempts;
};

struct drill {
    const struct drill_options *options;
    const struct drill_shape *shape;
    int64_t start_ms, deadline_ms, started_unix_ms;
    char self[PATH_MAX], root[PATH_MAX], e2e[PATH_MAX + 32];
    char dir[PATH_MAX];
    bool dir_made;
    char cluster[PATH_MAX + 16];
    bool cluster_started;
    FILE *log;
    char nats_old[PATH_MAX], nats_new[PATH_MAX], node_old[PATH_MAX + 32];
    char nats_from[64], nats_to[64], node_from[64], node_to[64];
    char fallback[2][400]; /* the servers', the nodes'; "" when none */
    bool nodes_restart;    /* the nodes' fallback: a restart is the upgrade */
    char nats_urls[CLUSTER_NATS_MAX * 32];
    char house_secret[64];
    char log_dir[PATH_MAX + 8];
    struct drill_load load;
    bool load_running;
    struct drill_step steps[DRILL_STEPS_MAX];
    uint32_t step_count;
    struct drill_step *node_step; /* the node `nodown upgrade` replaces now */
    int64_t upgrade_from_unix_ms, upgrade_to_unix_ms;
    int nats_attempts;    /* runs of `upgrade --nats-binary` (a second after a failure) */
    char *out;            /* the last child's stdout */
    char last_line[512];  /* the last child's last line on stderr */
    char *rehearsal;      /* its JSON, or NULL */
    int rehearsal_exit;
    struct drill_outcome activation, settle;
    uint64_t commission_set, commission_rejected;
    struct drill_check check;
    struct drill_verify verify;
    uint32_t left_behind; /* processes still running after cluster down */
    char error[512];
};

static volatile sig_atomic_t drill_interrupted;

static void drill_on_signal(int signal_number)
{
    (void)signal_number;
    drill_interrupted = 1;
}

static int64_t drill_unix_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* The first failure: what the report's "error" says. */
static void drill_fail(struct drill *drill, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void drill_fail(struct drill *drill, const char *format, ...)
{
    char text[sizeof drill->error];
    va_list list;
    va_start(list, format);
    vsnprintf(text, sizeof text, format, list);
    va_end(list);
    fprintf(stderr, "nodown drill: %s\n", text);
    if (drill->log != NULL)
        fprintf(drill->log, "%" PRId64 " drill: FAILED: %s\n", drill_unix_ms(), text);
    if (drill->error[0] == '\0')
        snprintf(drill->error, sizeof drill->error, "%s", text);
}

/* A progress line: on stderr and in the drill's log. */
static void drill_say(struct drill *drill, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void drill_say(struct drill *drill, const char *format, ...)
{
    char text[1024];
    va_list list;
    va_start(list, format);
    vsnprintf(text, sizeof text, format, list);
    va_end(list);
    fprintf(stderr, "drill: %s\n", text);
    if (drill->log != NULL) {
        fprintf(drill->log, "%" PRId64 " drill: %s\n", drill_unix_ms(), text);
        fflush(drill->log);
    }
}

/* Sleeps ms unless interrupted; returns -1 when it was. */
static int drill_sleep_ms(struct drill *drill, int64_t ms)
{
    int64_t until_ms = clock_now_ms() + ms;
    while (!drill_interrupted && clock_now_ms() < until_ms && clock_now_ms() < drill->deadline_ms)
        clock_sleep_ms(50);
    if (drill_interrupted || clock_now_ms() >= drill->deadline_ms) {
        drill_fail(drill, drill_interrupted ? "interrupted" : "over the drill's time limit");
        return -1;
    }
    return 0;
}

static struct drill_step *drill_step_begin(struct drill *drill, const char *kind,
                                           const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static struct drill_step *drill_step_begin(struct drill *drill, const char *kind,
                                           const char *format, ...)
{
    static struct drill_step spare; /* past DRILL_STEPS_MAX: counted nowhere */
    struct drill_step *step = drill->step_count < DRILL_STEPS_MAX
                                  ? &drill->steps[drill->step_count++] : &spare;
    memset(step, 0, sizeof *step);
    snprintf(step->kind, sizeof step->kind, "%s", kind);
    va_list list;
    va_start(list, format);
    vsnprintf(step->name, sizeof step->name, format, list);
    va_end(list);
    step->started_unix_ms = drill_unix_ms();
    return step;
}

static void drill_step_end(struct drill_step *step, bool ok)
{
    step->ended_unix_ms = drill_unix_ms();
    step->ok = ok;
}

/* Appends a JSON field to a step's detail. */
static void drill_detail(struct drill_step *step, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void drill_detail(struct drill_step *step, const char *format, ...)
{
    size_t used = strlen(step->detail);
    va_list list;
    va_start(list, format);
    vsnprintf(step->detail + used, sizeof step->detail - used, format, list);
    va_end(list);
}

/* ---- Children: this binary (cluster, upgrade, rehearse, verify), the
 * tools and e2e_node. ---- */

typedef void drill_line_cb(struct drill *drill, const char *line);

static bool drill_env_named(const char *entry, const char *name)
{
    size_t length = strcspn(name, "=");
    return strncmp(entry, name, length) == 0 && entry[length] == '=';
}

/* Our environment without the test-only variables of cluster.h, plus
 * set (NAME=VALUE strings). */
static char **drill_env(const char *const *set, uint32_t set_count)
{
    static char *env[DRILL_ENV_MAX];
    uint32_t count = 0;
    for (char **entry = environ; *entry != NULL && count + set_count + 1 < DRILL_ENV_MAX;
         entry++) {
        bool drop = drill_env_named(*entry, CLUSTER_NATS_OLD_ENV) ||
                    drill_env_named(*entry, CLUSTER_NODE_BINARY_ENV);
        for (uint32_t i = 0; i < set_count; i++)
            drop = drop || drill_env_named(*entry, set[i]);
        if (!drop)
            env[count++] = *entry;
    }
    for (uint32_t i = 0; i < set_count; i++)
        env[count++] = (char *)set[i];
    env[count] = NULL;
    return env;
}

/* Forks argv with stdin from /dev/null, stdout and stderr into the pipes,
 * in a session of its own (a Ctrl-C reaches the drill, which stops it),
 * and nothing else of ours open. */
static pid_t drill_spawn(char *const argv[], char *const env[], const int out_pipe[2],
                         const int err_pipe[2])
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setsid();
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_pipe[1], 1) < 0 ||
        dup2(err_pipe[1], 2) < 0)
        _exit(126);
    for (int fd = 3; fd < DRILL_FDS_CLOSE_MAX; fd++)
        close(fd);
    execve(argv[0], argv, env);
    _exit(127);
}

struct drill_reader {
    const char *name;
    drill_line_cb *cb;
    char line[1024];
    size_t used;
    size_t out_used;
};

/* One line of a child's stderr: the log, stderr, the callback. */
static void drill_child_line(struct drill *drill, struct drill_reader *reader)
{
    reader->line[reader->used] = '\0';
    snprintf(drill->last_line, sizeof drill->last_line, "%.500s", reader->line);
    if (drill->log != NULL)
        fprintf(drill->log, "%" PRId64 " %s: %s\n", drill_unix_ms(), reader->name,
                reader->line);
    fprintf(stderr, "  %s: %s\n", reader->name, reader->line);
    if (reader->cb != NULL)
        reader->cb(drill, reader->line);
    reader->used = 0;
}

/* Reads what fd has; returns false at its end. */
static bool drill_child_read(struct drill *drill, struct drill_reader *reader, int fd,
                             bool is_stdout)
{
    char buffer[4096];
    ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR)
        return true;
    if (got <= 0) {
        if (!is_stdout && reader->used > 0)
            drill_child_line(drill, reader);
        return false;
    }
    for (ssize_t i = 0; i < got; i++) {
        if (is_stdout) {
            if (reader->out_used + 1 < DRILL_OUT_SIZE)
                drill->out[reader->out_used++] = buffer[i];
            drill->out[reader->out_used] = '\0';
        } else if (buffer[i] == '\n' || reader->used + 1 >= sizeof reader->line) {
            drill_child_line(drill, reader);
        } else {
            reader->used++;
            reader->line[reader->used - 1] = buffer[i];
        }
    }
    return true;
}

/* Reads both pipes until they close (or DRILL_PIPE_GRACE_MS after the
 * child's exit), stopping the child at the time limit or an interrupt.
 * Returns its exit status, -1 when stopped or killed by a signal. */
static int drill_child_wait(struct drill *drill, pid_t pid, const int fds[2], int timeout_s,
                            struct drill_reader *reader)
{
    int64_t deadline_ms = clock_now_ms() + (int64_t)timeout_s * 1000;
    if (deadline_ms > drill->deadline_ms)
        deadline_ms = drill->deadline_ms;
    bool open[2] = {true, true}, exited = false;
    int64_t exited_ms = 0, killed_ms = 0;
    int status = 0;
    while ((open[0] || open[1]) && !(exited && clock_now_ms() - exited_ms > DRILL_PIPE_GRACE_MS)) {
        struct pollfd entries[2] = {{.fd = open[0] ? fds[0] : -1, .events = POLLIN},
                                    {.fd = open[1] ? fds[1] : -1, .events = POLLIN}};
        poll(entries, 2, 100);
        for (int i = 0; i < 2; i++)
            if (entries[i].revents != 0)
                open[i] = drill_child_read(drill, reader, fds[i], i == 0);
        if (!exited && waitpid(pid, &status, WNOHANG) == pid)
            exited = true, exited_ms = clock_now_ms();
        if (!exited && killed_ms == 0 && (clock_now_ms() > deadline_ms || drill_interrupted)) {
            kill(pid, SIGTERM);
            killed_ms = clock_now_ms();
        }
        if (!exited && killed_ms != 0 && clock_now_ms() - killed_ms > 10000)
            kill(pid, SIGKILL);
    }
    if (!exited)
        waitpid(pid, &status, 0);
    if (killed_ms != 0)
        snprintf(drill->last_line, sizeof drill->last_line, "stopped after %d s%s", timeout_s,
                 drill_interrupted ? " (interrupted)" : "");
    return killed_ms == 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs argv (env NULL: drill_env's), its stdout into drill->out, each
 * line of its stderr to cb. Returns its exit status, or -1. */
static int drill_child(struct drill *drill, const char *name, char *const argv[],
                       char *const env[], int timeout_s, drill_line_cb *cb)
{
    int out_pipe[2], err_pipe[2];
    drill->out[0] = '\0';
    drill->last_line[0] = '\0';
    if (pipe(out_pipe) != 0)
        return -1;
    if (pipe(err_pipe) != 0) {
        close(out_pipe[0]);
        close(out_pipe[1]);
        return -1;
    }
    if (drill->log != NULL) {
        fprintf(drill->log, "%" PRId64 " drill: run", drill_unix_ms());
        for (int i = 0; argv[i] != NULL; i++)
            fprintf(drill->log, " %s", argv[i]);
        fprintf(drill->log, "\n");
        fflush(drill->log);
    }
    pid_t pid = drill_spawn(argv, env != NULL ? env : drill_env(NULL, 0), out_pipe, err_pipe);
    close(out_pipe[1]);
    close(err_pipe[1]);
    int status = -1;
    if (pid > 0) {
        struct drill_reader reader = {.name = name, .cb = cb};
        int fds[2] = {out_pipe[0], err_pipe[0]};
        status = drill_child_wait(drill, pid, fds, timeout_s, &reader);
    }
    close(out_pipe[0]);
    close(err_pipe[0]);
    return status;
}

/* ---- drill_prepare ---- */

static int drill_paths(struct drill *drill)
{
    ssize_t length = readlink("/proc/self/exe", drill->self, sizeof drill->self - 1);
    if (length <= 0) {
        drill_fail(drill, "cannot read /proc/self/exe: %s", strerror(errno));
        return -1;
    }
    drill->self[length] = '\0';
    /* build/nodown in a tree: its root holds tools/ and build/test/. */
    snprintf(drill->root, sizeof drill->root, "%s", drill->self);
    char *slash = strrchr(drill->root, '/');
    *slash = '\0';
    slash = strrchr(drill->root, '/');
    if (slash != NULL && strcmp(slash + 1, "build") == 0)
        *slash = '\0';
    snprintf(drill->e2e, sizeof drill->e2e, "%s/build/test/e2e_node", drill->root);
    if (access(drill->e2e, X_OK) != 0) {
        drill_fail(drill, "the drill checks every acknowledgement with %s, which is not "
                   "there: make build/test/e2e_node", drill->e2e);
        return -1;
    }
    const char *nats = getenv(NATS_SUPERVISOR_SERVER_ENV);
    snprintf(drill->nats_new, sizeof drill->nats_new, "%s",
             nats != NULL && nats[0] != '\0' ? nats : NATS_SUPERVISOR_SERVER_PATH);
    return 0;
}

/* The drill's directory: the one given, or a new one; its log. */
static int drill_directory(struct drill *drill)
{
    if (drill->options->dir != NULL) {
        snprintf(drill->dir, sizeof drill->dir, "%s", drill->options->dir);
        if (mkdir(drill->dir, 0755) != 0 && errno != EEXIST) {
            drill_fail(drill, "%s: %s", drill->dir, strerror(errno));
            return -1;
        }
    } else {
        snprintf(drill->dir, sizeof drill->dir, "/tmp/nodown-drill-XXXXXX");
        if (mkdtemp(drill->dir) == NULL) {
            drill_fail(drill, "mkdtemp: %s", strerror(errno));
            return -1;
        }
        drill->dir_made = true;
    }
    char path[PATH_MAX + 32];
    snprintf(drill->cluster, sizeof drill->cluster, "%s/cluster", drill->dir);
    snprintf(path, sizeof path, "%s/logs", drill->dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/drill.log", drill->dir);
    drill->log = fopen(path, "ae");
    struct stat info;
    if (drill->log == NULL || stat(drill->cluster, &info) == 0) {
        drill_fail(drill, drill->log == NULL ? "cannot write %s" : "%s holds a cluster "
                   "already: give a new --dir", drill->log == NULL ? path : drill->cluster);
        return -1;
    }
    return 0;
}

/* Runs tools/SCRIPT VERSION; its stdout's first line into path. */
static int drill_tool(struct drill *drill, const char *script, const char *version,
                      char *path, size_t size, int timeout_s)
{
    char tool[PATH_MAX + 64];
    snprintf(tool, sizeof tool, "%s/tools/%s", drill->root, script);
    if (access(tool, X_OK) != 0) {
        snprintf(drill->last_line, sizeof drill->last_line, "%.400s is not there (not a "
                 "source tree)", tool);
        return -1;
    }
    char *argv[] = {tool, (char *)version, NULL};
    int rv = drill_child(drill, script, argv, NULL, timeout_s, NULL);
    drill->out[strcspn(drill->out, "\n")] = '\0';
    if (rv != 0 || access(drill->out, X_OK) != 0)
        return -1;
    snprintf(path, size, "%s", drill->out);
    return 0;
}

/* The nodes' fallback: this build capped to the first release's logic. */
static int drill_node_wrapper(struct drill *drill)
{
    snprintf(drill->node_old, sizeof drill->node_old, "%s/nodown-logic-max-2", drill->dir);
    FILE *file = fopen(drill->node_old, "w");
    if (file == NULL || strchr(drill->self, '\'') != NULL) {
        if (file != NULL)
            fclose(file);
        drill_fail(drill, "cannot write %s", drill->node_old);
        return -1;
    }
    fprintf(file, "#!/bin/sh\n# nodown drill: this build as a node of logic 1..2\n"
            "exec '%s' \"$@\" --logic-max 2\n", drill->self);
    fclose(file);
    chmod(drill->node_old, 0755);
    return 0;
}

/* The first releases, or the fallbacks, each said in one line. */
static int drill_binaries(struct drill *drill)
{
    bool nats_old = drill_tool(drill, "nats_release.sh", DRILL_NATS_OLD, drill->nats_old,
                               sizeof drill->nats_old, 300) == 0;
    if (!nats_old)
        snprintf(drill->fallback[0], sizeof drill->fallback[0], "nats-server %s cannot be "
                 "had (%.120s): the servers start on %.120s", DRILL_NATS_OLD, drill->last_line,
                 drill->nats_new);
    bool node_old = drill_tool(drill, "release_build.sh", DRILL_RELEASE_OLD, drill->node_old,
                               sizeof drill->node_old, 1200) == 0;
    if (!node_old) {
        snprintf(drill->fallback[1], sizeof drill->fallback[1], "release %s cannot be had "
                 "(%.120s): the nodes run this build with --logic-max 2, and a restart without "
                 "it is their upgrade", DRILL_RELEASE_OLD, drill->last_line);
        if (nats_old) /* this build's nodes refuse a server older than 2.10 */
            snprintf(drill->fallback[0], sizeof drill->fallback[0], "the nodes of this "
                     "build refuse nats-server %s: the servers start on %.200s", DRILL_NATS_OLD,
                     drill->nats_new);
        nats_old = false;
        drill->nodes_restart = true;
        if (drill_node_wrapper(drill) != 0)
            return -1;
    }
    for (int i = 0; i < 2; i++)
        if (drill->fallback[i][0] != '\0')
            fprintf(stderr, "nodown drill: FALLBACK: %s\n", drill->fallback[i]);
    if (!nats_old)
        snprintf(drill->nats_old, sizeof drill->nats_old, "%s", drill->nats_new);
    snprintf(drill->node_from, sizeof drill->node_from, "%s",
             node_old ? DRILL_RELEASE_OLD : "this build, --logic-max 2");
    snprintf(drill->node_to, sizeof drill->node_to, "%s", versions_release());
    snprintf(drill->nats_from, sizeof drill->nats_from, "%s", nats_old ? DRILL_NATS_OLD : "?");
    return 0;
}

static int drill_prepare(struct drill *drill)
{
    drill->out = malloc(DRILL_OUT_SIZE);
    if (drill->out == NULL) {
        drill_fail(drill, "no memory");
        return -1;
    }
    drill->out[0] = '\0';
    if (drill_paths(drill) != 0 || drill_directory(drill) != 0)
        return -1;
    drill_say(drill, "%s drill in %s, seed %" PRIu64, drill->shape->name, drill->dir,
              drill->options->seed);
    return drill_binaries(drill);
}

/* ---- drill_start ---- */

/* The cluster's node list and server URLs, from its layout. */
static int drill_layout(struct drill *drill)
{
    struct cluster_layout layout;
    if (cluster_layout_load(drill->cluster, &layout) != 0) {
        drill_fail(drill, "no cluster in %s", drill->cluster);
        return -1;
    }
    size_t used = 0;
    for (uint32_t i = 0; i < layout.node_count; i++)
        used += (size_t)snprintf(drill->load.nodes + used, sizeof drill->load.nodes - used,
                                 "%s127.0.0.1:%u", i > 0 ? "," : "", layout.nodes[i].ports[0]);
    drill->load.node_count = layout.node_count;
    used = 0;
    for (uint32_t i = 0; i < layout.nats_count; i++)
        used += (size_t)snprintf(drill->nats_urls + used, sizeof drill->nats_urls - used,
                                 "%snats://127.0.0.1:%u", i > 0 ? "," : "",
                                 layout.nats[i].ports[0]);
    return 0;
}

static int drill_cluster_up(struct drill *drill)
{
    const struct drill_shape *shape = drill->shape;
    char nats[16], nodes[16];
    snprintf(nats, sizeof nats, "%u", shape->nats_count);
    snprintf(nodes, sizeof nodes, "%u", shape->node_count);
    char *argv[] = {drill->self, "cluster", "up", "--dir", drill->cluster, "--nats-servers", nats,
                    "--nodes", nodes, "--house-secret", drill->house_secret,
                    shape->dr ? "--dr" : NULL, NULL};
    static char node_env[PATH_MAX + 64], nats_env[PATH_MAX + 64];
    snprintf(node_env, sizeof node_env, "%s=%s", CLUSTER_NODE_BINARY_ENV, drill->node_old);
    snprintf(nats_env, sizeof nats_env, "%s=%s", NATS_SUPERVISOR_SERVER_ENV, drill->nats_old);
    const char *set[] = {node_env, nats_env, CLUSTER_NATS_OLD_ENV "=1"};
    bool old = strcmp(drill->nats_old, drill->nats_new) != 0;
    drill_say(drill, "cluster up: %u NATS servers on %s, %u nodes%s on %s", shape->nats_count,
              drill->nats_old, shape->node_count, shape->dr ? " and a DR site" : "",
              drill->node_old);
    drill->cluster_started = true; /* whatever started is stopped at the end */
    int rv = drill_child(drill, "cluster up", argv, drill_env(set, old ? 3 : 1), 300, NULL);
    if (rv != 0) {
        drill_fail(drill, "cluster up failed (%d): %s", rv, drill->last_line);
        return -1;
    }
    return drill_layout(drill);
}

/* The tree, the load and the churn; then a warm-up and the steady window. */
static int drill_load_begin(struct drill *drill)
{
    struct drill_load *load = &drill->load;
    char errmsg[512];
    snprintf(drill->log_dir, sizeof drill->log_dir, "%s/logs", drill->dir);
    load->house_secret = drill->house_secret;
    load->level_secret = "drill level secret";
    load->member_secret = "drill member secret";
    load->log_dir = drill->log_dir;
    load->master_count = drill->shape->masters;
    load->agents_per_master = drill->shape->agents_per_master;
    load->members_per_agent = drill->shape->members_per_agent;
    load->rate = drill->shape->rate;
    load->seconds_max = drill->shape->time_limit_s;
    load->seed = drill->options->seed;
    if (drill_tree_build(load, errmsg, sizeof errmsg) != 0) {
        drill_fail(drill, "the tree: %s", errmsg);
        return -1;
    }
    drill_say(drill, "tree: %u masters, %u agents, %u members; load %u commands/s a member",
              load->master_count, load->master_count * load->agents_per_master,
              load->member_count, load->rate);
    if (drill_load_start(load, errmsg, sizeof errmsg) != 0) {
        drill_fail(drill, "%s", errmsg);
        return -1;
    }
    drill->load_running = true;
    /* Warm-up: two seconds' worth of acknowledgements for every member. */
    int64_t until_ms = clock_now_ms() + 60000;
    while (drill_load_acked_min(load) < 2u * load->rate && clock_now_ms() < until_ms)
        if (drill_sleep_ms(drill, 100) != 0)
            return -1;
    if (drill_load_acked_min(load) < 2u * load->rate) {
        drill_fail(drill, "a member got fewer than %u acknowledgements in 60 s", 2 * load->rate);
        return -1;
    }
    struct drill_step *step = drill_step_begin(drill, "steady", "before the upgrade");
    int rv = drill_sleep_ms(drill, (int64_t)drill->shape->steady_s * 1000);
    drill_step_end(step, rv == 0);
    return rv;
}

/* ---- drill_upgrade ---- */

static int64_t drill_json_int(const char *json, const char *key)
{
    char value[32];
    admin_json_field(json, key, value, sizeof value);
    return strtoll(value, NULL, 10);
}

/* Calls each for every flat object of the array named key in json. */
static uint32_t drill_json_each(struct drill *drill, const char *json, const char *key,
                                void (*each)(struct drill *drill, const char *object))
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":[", key);
    const char *at = strstr(json, pattern);
    uint32_t count = 0;
    if (at == NULL)
        return 0;
    at += strlen(pattern);
    static char object[4096];
    for (;;) {
        at += strspn(at, " \n,");
        const char *end = *at == '{' ? strchr(at, '}') : NULL;
        if (end == NULL)
            return count;
        size_t length = (size_t)(end - at) + 1;
        if (length >= sizeof object)
            length = sizeof object - 1;
        memcpy(object, at, length);
        object[length] = '\0';
        each(drill, object);
        count++;
        at = end + 1;
    }
}

/* One server of `nodown upgrade --nats-binary`'s JSON: a step. */
static void drill_nats_server(struct drill *drill, const char *object)
{
    char name[32], from[32], to[32];
    admin_json_field(object, "name", name, sizeof name);
    admin_json_field(object, "old_version", from, sizeof from);
    admin_json_field(object, "new_version", to, sizeof to);
    struct drill_step *step = drill_step_begin(drill, "nats", "%s", name);
    step->started_unix_ms = drill_json_int(object, "started_unix_ms");
    step->ended_unix_ms = drill_json_int(object, "ended_unix_ms");
    step->ok = step->ended_unix_ms > 0 && to[0] != '\0';
    if (drill->nats_from[0] == '?' || drill->nats_from[0] == '\0')
        snprintf(drill->nats_from, sizeof drill->nats_from, "%s", from);
    snprintf(drill->nats_to, sizeof drill->nats_to, "%s", to);
    drill_detail(step, ",\"from\":\"%s\",\"to\":\"%s\"", from, to);
    static const char *const fields[] = {"step_down_ms", "kv_step_down_ms", "meta_move_ms",
                                         "exit_ms", "start_ms", "current_ms", "total_ms"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        drill_detail(step, ",\"%s\":%" PRId64, fields[i], drill_json_int(object, fields[i]));
}

/* The NATS servers, one at a time: `nodown upgrade --nats-binary NEW`.
 * A replacement that fails puts that server back on its old binary and
 * stops (nats_upgrade.h); the drill then tries the whole once more, as an
 * operator would (a 2.10.27 server replacing the last 2.9.10 one has
 * been seen not to catch up within its minute under load), and says so. */
static int drill_nats(struct drill *drill)
{
    char *argv[] = {drill->self, "upgrade", "--dir", drill->cluster, "--nats-binary",
                    drill->nats_new, "--json", NULL};
    uint32_t expected = drill->shape->nats_count + (drill->shape->dr ? 1u : 0u);
    drill->upgrade_from_unix_ms = drill_unix_ms();
    for (drill->nats_attempts = 1; drill->nats_attempts <= 2; drill->nats_attempts++) {
        drill_say(drill, "the NATS servers, one at a time, to %s%s", drill->nats_new,
                  drill->nats_attempts > 1 ? " (again)" : "");
        int rv = drill_child(drill, "upgrade", argv, NULL, 1200, NULL);
        uint32_t count = drill_json_each(drill, drill->out, "servers", drill_nats_server);
        if (rv == 0 && count == expected)
            return 0;
        drill_say(drill, "nodown upgrade --nats-binary: exit %d, %u of %u servers: %s", rv,
                  count, expected, drill->last_line);
        if (drill->nats_attempts == 1 && drill_sleep_ms(drill, 5000) != 0)
            return -1;
    }
    drill->nats_attempts = 2;
    drill_fail(drill, "the NATS servers could not be upgraded (twice): %s", drill->last_line);
    return -1;
}

/* A progress line of `nodown upgrade --binary`: "upgrade: NAME: ..."
 * opens NAME's window and closes the one before. */
static void drill_node_line(struct drill *drill, const char *line)
{
    if (strncmp(line, "upgrade: ", 9) != 0)
        return;
    const char *name = line + 9;
    size_t length = strcspn(name, ": ");
    if (name[length] != ':' || (strncmp(name, "node-", 5) != 0 && strncmp(name, "dr-node", 7)))
        return;
    struct drill_step *current = drill->node_step;
    if (current != NULL && strlen(current->name) == length &&
        strncmp(current->name, name, length) == 0)
        return;
    if (current != NULL)
        current->ended_unix_ms = drill_unix_ms();
    drill->node_step = drill_step_begin(drill, "node", "%.*s", (int)length, name);
}

/* One step of `nodown upgrade --binary`'s JSON, onto its window. */
static void drill_node_result(struct drill *drill, const char *object)
{
    char name[40], method[32], digest[40], error[256], ok[8];
    admin_json_field(object, "name", name, sizeof name);
    admin_json_field(object, "method", method, sizeof method);
    admin_json_field(object, "digest", digest, sizeof digest);
    admin_json_field(object, "error", error, sizeof error);
    admin_json_field(object, "ok", ok, sizeof ok);
    for (uint32_t i = 0; i < drill->step_count; i++) {
        struct drill_step *step = &drill->steps[i];
        if (strcmp(step->kind, "node") != 0 || strcmp(step->name, name) != 0)
            continue;
        step->ok = strcmp(ok, "true") == 0;
        drill_detail(step, ",\"method\":\"%s\",\"handover_ms\":%" PRId64 ",\"took_ms\":%"
                     PRId64 ",\"verify_ms\":%" PRId64 ",\"seq\":%" PRId64 ",\"digest\":\"%s\"",
                     method, drill_json_int(object, "handover_ms"),
                     drill_json_int(object, "took_ms"), drill_json_int(object, "verify_ms"),
                     drill_json_int(object, "seq"), digest);
        if (error[0] != '\0')
            drill_detail(step, ",\"error\":\"%s\"", error); /* quotes already replaced */
    }
}

/* The nodes, one at a time: `nodown upgrade --binary THIS`. */
static int drill_nodes_upgrade(struct drill *drill)
{
    char *argv[] = {drill->self, "upgrade", "--dir", drill->cluster, "--binary", drill->self,
                    "--json", NULL};
    drill_say(drill, "the nodes, one at a time, to %s", drill->self);
    drill->node_step = NULL;
    int rv = drill_child(drill, "upgrade", argv, NULL, 1800, drill_node_line);
    if (drill->node_step != NULL && drill->node_step->ended_unix_ms == 0)
        drill->node_step->ended_unix_ms = drill_unix_ms();
    drill->node_step = NULL;
    uint32_t count = drill_json_each(drill, drill->out, "steps", drill_node_result);
    uint32_t expected = drill->shape->node_count + (drill->shape->dr ? 1u : 0u);
    if (rv != 0 || count != expected) {
        drill_fail(drill, "nodown upgrade --binary: exit %d, %u of %u nodes: %s", rv, count,
                   expected, drill->last_line);
        return -1;
    }
    return 0;
}

/* Stops a node of the cluster: SIGTERM, SIGKILL after 30 s. */
static void drill_node_stop(struct drill *drill, pid_t pid)
{
    if (pid <= 0 || !cluster_process_running(drill->cluster, pid))
        return;
    kill(pid, SIGTERM);
    int64_t until_ms = clock_now_ms() + 30000;
    while (cluster_process_running(drill->cluster, pid) && clock_now_ms() < until_ms)
        clock_sleep_ms(5);
    if (cluster_process_running(drill->cluster, pid))
        kill(pid, SIGKILL);
}

/* The fallback's upgrade: each node stopped and started again by
 * `cluster up` on this build without --logic-max, then verify. */
static int drill_nodes_restart(struct drill *drill)
{
    struct cluster_layout layout;
    if (cluster_layout_load(drill->cluster, &layout) != 0)
        return -1;
    uint32_t count = layout.node_count + (layout.dr ? 1u : 0u);
    char *up[] = {drill->self, "cluster", "up", "--dir", drill->cluster, NULL};
    char *verify[] = {drill->self, "verify", "--dir", drill->cluster, "--timeout", "30", NULL};
    drill_say(drill, "the nodes, one at a time: restarted without --logic-max");
    for (uint32_t i = 0; i < count; i++) {
        bool dr = i == layout.node_count;
        struct drill_step *step = drill_step_begin(drill, "node", dr ? "dr-node" : "node-%u", i);
        int64_t start_ms = clock_now_ms();
        drill_node_stop(drill, dr ? layout.dr_node.pid : layout.nodes[i].pid);
        int rv = drill_child(drill, "cluster up", up, NULL, 300, NULL);
        int64_t restart_ms = clock_now_ms() - start_ms;
        int verified = rv == 0 ? drill_child(drill, "verify", verify, NULL, 120, NULL) : -1;
        drill_step_end(step, rv == 0 && verified == 0);
        drill_detail(step, ",\"method\":\"restart without --logic-max\",\"restart_ms\":%"
                     PRId64 ",\"verify_ms\":%" PRId64, restart_ms,
                     clock_now_ms() - start_ms - restart_ms);
        if (!step->ok) {
            drill_fail(drill, "%s: %s (%s)", step->name, rv != 0 ? "not back" : "verify failed",
                       drill->last_line);
            return -1;
        }
    }
    return 0;
}

/* node-0's data directory; its applied sequence into *seq. */
static int drill_node0(struct drill *drill, char *from, size_t size, uint64_t *seq)
{
    struct cluster_layout layout;
    if (cluster_layout_load(drill->cluster, &layout) != 0 || layout.node_count == 0)
        return -1;
    char path[PATH_MAX + 64], token[160], body[8192], field[32];
    snprintf(path, sizeof path, "%s/node-0/admin.token", drill->cluster);
    /* Its directory, not its admin port: a node just started on the new
     * build may have no snapshot yet, and from a directory the rehearsal
     * then starts from the empty state and the stream's first message. */
    snprintf(from, size, "%s/node-0", drill->cluster);
    admin_token_read(path, token, sizeof token);
    if (admin_http_get(layout.nodes[0].ports[1], "/status", token, body, sizeof body) != 0)
        return -1;
    admin_json_field(body, "applied_seq", field, sizeof field);
    *seq = strtoull(field, NULL, 10);
    return 0;
}

/* `nodown rehearse` of the drill's history: node-0's newest snapshot and
 * the stream after it, read from the servers, to logic 3 at the sequence
 * node-0 has reached (where the operator activates). Its JSON goes into
 * the report whole. */
static int drill_rehearse(struct drill *drill)
{
    char from[PATH_MAX + 128], at[24], to[8];
    uint64_t seq = 0;
    if (drill_node0(drill, from, sizeof from, &seq) != 0) {
        drill_fail(drill, "rehearsal: node-0 does not answer /status");
        return -1;
    }
    snprintf(at, sizeof at, "%" PRIu64, seq > 0 ? seq : 1);
    snprintf(to, sizeof to, "%u", DRILL_LOGIC_TARGET);
    char *argv[] = {drill->self, "rehearse", "--from", from, "--nats", drill->nats_urls,
                    "--binary", drill->self, "--to", to, "--at", at, "--json", NULL};
    drill_say(drill, "rehearsal of the history to logic %u at sequence %s", DRILL_LOGIC_TARGET,
              at);
    struct drill_step *step = drill_step_begin(drill, "rehearsal", "to logic %s at %s", to, at);
    drill->rehearsal_exit = drill_child(drill, "rehearse", argv, NULL, 1200, NULL);
    drill_step_end(step, drill->rehearsal_exit == 0);
    drill_detail(step, ",\"exit\":%d", drill->rehearsal_exit);
    size_t length = strlen(drill->out);
    while (length > 0 && (drill->out[length - 1] == '\n' || drill->out[length - 1] == ' '))
        drill->out[--length] = '\0';
    for (size_t i = 0; i < length; i++)
        if (drill->out[i] == '\n')
            drill->out[i] = ' ';
    if (length > 0 && drill->out[0] == '{')
        drill->rehearsal = strdup(drill->out);
    if (drill->rehearsal_exit != 0 || drill->rehearsal == NULL) {
        drill_fail(drill, "nodown rehearse: exit %d: %s", drill->rehearsal_exit,
                   drill->last_line);
        return -1;
    }
    return 0;
}

/* One operator command as the house, through every node. */
static int drill_house_command(struct drill *drill, uint64_t client_id,
                               const struct command *command, struct drill_outcome *outcome)
{
    struct nodown_client *house = NULL;
    char errmsg[512];
    if (drill_house_open(&drill->load, &house, client_id, errmsg, sizeof errmsg) != 0) {
        drill_fail(drill, "house logon: %s", errmsg);
        return -1;
    }
    struct nodown_outcome answer;
    int64_t start_ms = clock_now_ms();
    int rv = 0;
    outcome->sent = true;
    /* The gate refuses (without publishing) while a node's registry entry
     * is not written yet: asked again, 20 times at most. */
    for (outcome->attempts = 1; outcome->attempts <= 20; outcome->attempts++) {
        rv = drill_send(house, command, &answer, errmsg, sizeof errmsg);
        if (rv != 0 || answer.result != REJECT_LOGIC_NOT_EVERYWHERE)
            break;
        clock_sleep_ms(500);
    }
    outcome->ms = clock_now_ms() - start_ms;
    nodown_client_close(house);
    if (rv != 0) {
        drill_fail(drill, "%s", errmsg);
        return -1;
    }
    outcome->result = answer.result;
    outcome->stream_seq = answer.stream_seq;
    outcome->value = answer.value;
    if (answer.result != RESULT_OK) {
        drill_fail(drill, "%s: %s", command_type_name(command->type), result_name(answer.result));
        return -1;
    }
    return 0;
}

static int drill_activate(struct drill *drill)
{
    struct command command;
    memset(&command, 0, sizeof command);
    command.type = COMMAND_ACTIVATE_LOGIC;
    command.u.activate_logic.logic_version = DRILL_LOGIC_TARGET;
    drill_say(drill, "ACTIVATE_LOGIC %u", DRILL_LOGIC_TARGET);
    struct drill_step *step = drill_step_begin(drill, "activation", "ACTIVATE_LOGIC %u",
                                               DRILL_LOGIC_TARGET);
    int rv = drill_house_command(drill, 2, &command, &drill->activation);
    if (rv == 0)
        rv = drill_sleep_ms(drill, DRILL_ACTIVATION_TAIL_MS);
    drill_step_end(step, rv == 0);
    drill_detail(step, ",\"result\":\"%s\",\"stream_seq\":%" PRIu64 ",\"outcome_ms\":%" PRId64
                 ",\"attempts\":%u", result_name(drill->activation.result),
                 drill->activation.stream_seq, drill->activation.ms, drill->activation.attempts);
    return rv;
}

static int drill_commission(struct drill *drill)
{
    char errmsg[512] = "";
    drill_say(drill, "commission rates down the tree (COMMISSION_SET)");
    struct drill_step *step = drill_step_begin(drill, "commission", "COMMISSION_SET");
    int rv = drill_commission_set(&drill->load, &drill->commission_set,
                                  &drill->commission_rejected, errmsg, sizeof errmsg);
    drill_step_end(step, rv == 0 && drill->commission_rejected == 0);
    drill_detail(step, ",\"set\":%" PRIu64 ",\"rejected\":%" PRIu64, drill->commission_set,
                 drill->commission_rejected);
    if (!step->ok) {
        drill_fail(drill, "commission: %s", errmsg);
        return -1;
    }
    return 0;
}

static int drill_upgrade(struct drill *drill)
{
    if (drill_nats(drill) != 0)
        return -1;
    if ((drill->nodes_restart ? drill_nodes_restart(drill) : drill_nodes_upgrade(drill)) != 0)
        return -1;
    if (drill_rehearse(drill) != 0 || drill_activate(drill) != 0)
        return -1;
    drill->upgrade_to_unix_ms = drill_unix_ms();
    if (drill_commission(drill) != 0)
        return -1;
    drill_say(drill, "load at logic %u for %d s", DRILL_LOGIC_TARGET, drill->shape->after_s);
    struct drill_step *step = drill_step_begin(drill, "load", "at logic %u", DRILL_LOGIC_TARGET);
    int rv = drill_sleep_ms(drill, (int64_t)drill->shape->after_s * 1000);
    drill_step_end(step, rv == 0);
    return rv;
}

/* After cluster down, whatever still runs with the cluster's directory on
 * its command line is the drill's, left by a step that failed (a node
 * started again on its old build is not in the layout): stopped by pid,
 * SIGTERM, SIGKILL after 15 s. Returns how many there were. */
static uint32_t drill_sweep(struct drill *drill)
{
    char pattern[PATH_MAX + 32];
    pid_t pids[64];
    uint32_t count = 0;
    snprintf(pattern, sizeof pattern, "%s/", drill->cluster);
    DIR *proc = opendir("/proc");
    for (struct dirent *entry; proc != NULL && (entry = readdir(proc)) != NULL && count < 64;) {
        pid_t pid = (pid_t)atoi(entry->d_name);
        char path[64], text[4096];
        snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
        FILE *file = pid > 0 && pid != getpid() ? fopen(path, "r") : NULL;
        size_t length = file != NULL ? fread(text, 1, sizeof text - 1, file) : 0;
        if (file != NULL)
            fclose(file);
        for (size_t i = 0; i < length; i++)
            text[i] = text[i] == '\0' ? ' ' : text[i];
        text[length] = '\0';
        if (length > 0 && strstr(text, pattern) != NULL) {
            drill_say(drill, "left behind: pid %ld: %.300s", (long)pid, text);
            kill(pid, SIGTERM);
            pids[count++] = pid;
        }
    }
    if (proc != NULL)
        closedir(proc);
    int64_t until_ms = clock_now_ms() + 15000;
    for (uint32_t i = 0; i < count; i++) {
        while (cluster_process_running(drill->cluster, pids[i]) && clock_now_ms() < until_ms)
            clock_sleep_ms(50);
        if (cluster_process_running(drill->cluster, pids[i]))
            kill(pids[i], SIGKILL);
    }
    return count;
}

/* ---- drill_finish ---- */

static void drill_check_line(struct drill *drill, const char *line)
{
    drill->check.lost += strstr(line, "NOT APPLIED") != NULL;
    drill->check.duplicated += strstr(line, "APPLIED MORE THAN ONCE") != NULL ||
                               strstr(line, "acknowledged more than once") != NULL;
}

/* e2e_node check: the stream replayed against every member's log. */
static void drill_check(struct drill *drill)
{
    char *argv[8 + 2 * DRILL_MEMBERS_MAX];
    int argc = 0;
    argv[argc++] = drill->e2e;
    argv[argc++] = "check";
    argv[argc++] = "--nats";
    argv[argc++] = drill->nats_urls;
    argv[argc++] = "--replicas";
    argv[argc++] = "3";
    for (uint32_t k = 0; k < drill->load.member_count; k++) {
        argv[argc++] = "--log";
        argv[argc++] = drill->load.members[k].log_path;
    }
    argv[argc] = NULL;
    drill_say(drill, "e2e_node check: every acknowledged command applied exactly once?");
    drill->check.ran = true;
    drill->check.exit = drill_child(drill, "check", argv, NULL, 600, drill_check_line);
    const char *summary = strstr(drill->out, "check: ");
    unsigned long long acknowledged = 0, resends = 0, stale = 0, errors = 0, in_stream = 0;
    unsigned clients = 0;
    if (summary == NULL ||
        sscanf(summary, "check: %llu acknowledged commands of %u clients; %llu acknowledged as "
               "resends; %llu resends in the stream (%llu stale); %llu errors", &acknowledged,
               &clients, &resends, &in_stream, &stale, &errors) != 6)
        errors = UINT32_MAX; /* no summary: the check did not run through */
    (void)stale;
    (void)in_stream;
    drill->check.acknowledged = acknowledged;
    drill->check.resends = resends;
    drill->check.errors = errors;
    const char *digest = strstr(drill->out, "digest ");
    unsigned long long applied = 0;
    if (digest == NULL || sscanf(digest, "digest %32s applied_seq %llu", drill->check.digest,
                                 &applied) != 2)
        drill->check.digest[0] = '\0';
    drill->check.applied_seq = applied;
}

static void drill_verify_node(struct drill *drill, const char *object)
{
    char verdict[32];
    admin_json_field(object, "verdict", verdict, sizeof verdict);
    drill->verify.nodes++;
    drill->verify.agree += strcmp(verdict, "ok") == 0;
}

/* nodown verify: every node's digest and invariants at one sequence. */
static void drill_verify(struct drill *drill)
{
    char *argv[] = {drill->self, "verify", "--dir", drill->cluster, "--timeout", "30",
                    "--json", NULL};
    drill_say(drill, "nodown verify: every node in one state?");
    drill->verify.ran = true;
    drill->verify.exit = drill_child(drill, "verify", argv, NULL, 120, NULL);
    drill->verify.ok = drill->verify.exit == 0 && strstr(drill->out, "\"ok\":true") != NULL;
    drill->verify.at = (uint64_t)drill_json_int(drill->out, "at");
    admin_json_field(drill->out, "digest", drill->verify.digest, sizeof drill->verify.digest);
    drill_json_each(drill, drill->out, "nodes", drill_verify_node);
}

/* The market settled, so that the bets placed at logic 3 pay commission. */
static void drill_settle(struct drill *drill)
{
    struct command command;
    memset(&command, 0, sizeof command);
    command.type = COMMAND_MARKET_SETTLE;
    command.u.market_settle.market_id = drill->load.market_id;
    command.u.market_settle.results[0] = BET_RESULT_WIN;
    command.u.market_settle.results[1] = BET_RESULT_LOSE;
    command.u.market_settle.results[2] = BET_RESULT_LOSE;
    command.u.market_settle.result_count = SELECTIONS_MAX;
    drill_say(drill, "the market settled");
    drill_house_command(drill, 4, &command, &drill->settle);
}

static void drill_finish(struct drill *drill, bool upgraded)
{
    if (drill->load_running) {
        drill_say(drill, "stopping the load (every command in flight acknowledged)");
        drill_load_stop(&drill->load);
        drill->load_running = false;
    }
    if (upgraded)
        drill_settle(drill);
    if (drill->load.member_count > 0 && drill->nats_urls[0] != '\0')
        drill_check(drill);
    if (drill->nats_urls[0] != '\0')
        drill_verify(drill);
    for (uint32_t i = 0; i < drill->step_count; i++) {
        struct drill_step *step = &drill->steps[i];
        if (step->ended_unix_ms > 0)
            step->gap_ms = drill_load_gap_ms(&drill->load, step->started_unix_ms,
                                             step->ended_unix_ms, &step->gap_member);
    }
    if (drill->cluster_started) {
        char *argv[] = {drill->self, "cluster", "down", "--dir", drill->cluster, NULL};
        drill_say(drill, "cluster down");
        drill_child(drill, "cluster down", argv, NULL, 180, NULL);
        drill->left_behind = drill_sweep(drill);
    }
}

/* ---- The report ---- */

static void drill_json_text(const char *text)
{
    putchar('"');
    for (const char *c = text; *c != '\0'; c++) {
        if (*c == '"' || *c == '\\')
            printf("\\%c", *c);
        else if ((unsigned char)*c < 0x20)
            printf("\\u%04x", (unsigned)(unsigned char)*c);
        else
            putchar(*c);
    }
    putchar('"');
}

static void drill_print_load(const struct drill *drill)
{
    const struct drill_load *load = &drill->load;
    uint64_t sent = 0, acked = 0, orders[2] = {0, 0}, bets[2] = {0, 0}, cancels[2] = {0, 0};
    uint64_t resends = 0, unfinished = 0, connections = 0, errors = 0;
    for (uint32_t k = 0; k < load->member_count; k++) {
        const struct drill_member *m = &load->members[k];
        sent += m->sent, acked += m->acknowledged, resends += m->resends;
        orders[0] += m->orders_ok, orders[1] += m->orders_rejected;
        bets[0] += m->bets_ok, bets[1] += m->bets_rejected;
        cancels[0] += m->others_ok, cancels[1] += m->others_rejected;
        unfinished += m->unfinished, connections += m->connections, errors += m->errors;
    }
    printf(",\n\"load\":{\"members\":%u,\"rate_per_member\":%u,\"sent\":%" PRIu64
           ",\"acknowledged\":%" PRIu64 ",\"orders\":{\"accepted\":%" PRIu64 ",\"rejected\":%"
           PRIu64 "},\"bets\":{\"accepted\":%" PRIu64 ",\"rejected\":%" PRIu64 "},\"cancels\":"
           "{\"accepted\":%" PRIu64 ",\"rejected\":%" PRIu64 "},\"answered_as_resends\":%" PRIu64
           ",\"unanswered\":%" PRIu64 ",\"connections\":%" PRIu64 ",\"client_errors\":%" PRIu64
           "}", load->member_count, load->rate, sent, acked, orders[0], orders[1], bets[0],
           bets[1], cancels[0], cancels[1], resends, unfinished, connections, errors);
    printf(",\n\"churn\":{\"pt_set\":{\"accepted\":%" PRIu64 ",\"rejected\":%" PRIu64
           "},\"credit\":{\"accepted\":%" PRIu64 ",\"rejected\":%" PRIu64 "},\"unanswered\":%"
           PRIu64 "}", load->churn.pt_ok, load->churn.pt_rejected, load->churn.credit_ok,
           load->churn.credit_rejected, load->churn.failed);
}

static void drill_print_checks(const struct drill *drill)
{
    const struct drill_check *c = &drill->check;
    printf(",\n\"check\":{\"ran\":%s,\"exit\":%d,\"acknowledged\":%" PRIu64 ",\"lost\":%" PRIu64
           ",\"duplicated\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"acknowledged_as_resends\":%"
           PRIu64 ",\"applied_seq\":%" PRIu64 ",\"digest\":\"%s\"}", c->ran ? "true" : "false",
           c->exit, c->acknowledged, c->lost, c->duplicated, c->errors, c->resends,
           c->applied_seq, c->digest);
    const struct drill_verify *v = &drill->verify;
    printf(",\n\"verify\":{\"ran\":%s,\"digests_equal\":%s,\"invariants\":\"%s\",\"at\":%" PRIu64
           ",\"digest\":\"%s\",\"nodes\":%u,\"agree\":%u,\"same_as_check\":%s}",
           v->ran ? "true" : "false", v->ok ? "true" : "false", v->ok ? "hold" : "see verify",
           v->at, v->digest, v->nodes, v->agree,
           v->at == c->applied_seq && strcmp(v->digest, c->digest) == 0 ? "true" : "false");
    const struct drill_outcome *a = &drill->activation, *s = &drill->settle;
    printf(",\n\"activation\":{\"version\":%u,\"result\":\"%s\",\"stream_seq\":%" PRIu64
           ",\"ms\":%" PRId64 "},\"commission\":{\"set\":%" PRIu64 ",\"rejected\":%" PRIu64
           "},\"settle\":{\"result\":\"%s\",\"stream_seq\":%" PRIu64 "}", DRILL_LOGIC_TARGET,
           a->sent ? result_name(a->result) : "not sent", a->stream_seq, a->ms,
           drill->commission_set, drill->commission_rejected,
           s->sent ? result_name(s->result) : "not sent", s->stream_seq);
}

static void drill_print_steps(const struct drill *drill)
{
    printf(",\n\"steps\":[");
    const char *kinds[] = {"steady", "nats", "node", "activation"};
    int64_t longest[4] = {0, 0, 0, 0};
    for (uint32_t i = 0; i < drill->step_count; i++) {
        const struct drill_step *s = &drill->steps[i];
        printf("%s\n{\"step\":\"%s\",\"name\":\"%s\",\"ok\":%s,\"started_unix_ms\":%" PRId64
               ",\"ended_unix_ms\":%" PRId64 ",\"ms\":%" PRId64 ",\"ack_gap_ms\":%" PRId64
               ",\"ack_gap_member\":%u%s}", i > 0 ? "," : "", s->kind, s->name,
               s->ok ? "true" : "false", s->started_unix_ms, s->ended_unix_ms,
               s->ended_unix_ms > 0 ? s->ended_unix_ms - s->started_unix_ms : 0, s->gap_ms,
               s->gap_member, s->detail);
        for (int k = 0; k < 4; k++)
            if (strcmp(s->kind, kinds[k]) == 0 && s->gap_ms > longest[k])
                longest[k] = s->gap_ms;
    }
    int64_t upgrade_ms = drill->upgrade_to_unix_ms > 0
                             ? drill->upgrade_to_unix_ms - drill->upgrade_from_unix_ms : 0;
    printf("],\n\"longest_ack_gap_ms\":{\"steady\":%" PRId64 ",\"nats\":%" PRId64 ",\"node\":%"
           PRId64 ",\"activation\":%" PRId64 "},\"upgrade_ms\":%" PRId64
           ",\"nats_attempts\":%d", longest[0], longest[1], longest[2], longest[3], upgrade_ms,
           drill->nats_attempts);
}

static void drill_print_json(const struct drill *drill, bool ok)
{
    printf("{\"drill\":\"%s\",\"ok\":%s,\"seed\":%" PRIu64 ",\"dir\":", drill->shape->name,
           ok ? "true" : "false", drill->options->seed);
    drill_json_text(drill->dir);
    printf(",\"wall_ms\":%" PRId64 ",\n\"from\":{\"nats\":\"%s\",\"nodes\":\"%s\"},\"to\":{"
           "\"nats\":\"%s\",\"nodes\":\"%s\",\"logic\":%u},\"fallback\":[",
           clock_now_ms() - drill->start_ms, drill->nats_from, drill->node_from, drill->nats_to,
           drill->node_to, DRILL_LOGIC_TARGET);
    for (int i = 0, n = 0; i < 2; i++) {
        if (drill->fallback[i][0] == '\0')
            continue;
        printf(n++ > 0 ? "," : "");
        drill_json_text(drill->fallback[i]);
    }
    printf("],\n\"cluster\":{\"nats_servers\":%u,\"nodes\":%u,\"dr\":%s},\"tree\":{\"masters\":"
           "%u,\"agents\":%u,\"members\":%u}", drill->shape->nats_count, drill->shape->node_count,
           drill->shape->dr ? "true" : "false", drill->load.master_count,
           drill->load.master_count * drill->load.agents_per_master, drill->load.member_count);
    drill_print_load(drill);
    drill_print_checks(drill);
    drill_print_steps(drill);
    printf(",\n\"left_behind\":%u,\n\"rehearsal\":%s,\n\"error\":", drill->left_behind,
           drill->rehearsal != NULL ? drill->rehearsal : "null");
    drill_json_text(drill->error);
    printf("}\n");
}

static void drill_print_text(const struct drill *drill, bool ok)
{
    printf("drill (%s, seed %" PRIu64 "): nats %s -> %s, nodes %s -> %s, logic %u\n",
           drill->shape->name, drill->options->seed, drill->nats_from, drill->nats_to,
           drill->node_from, drill->node_to, DRILL_LOGIC_TARGET);
    for (uint32_t i = 0; i < drill->step_count; i++) {
        const struct drill_step *s = &drill->steps[i];
        printf("  %-10s %-20s %s %7" PRId64 " ms, longest ack gap %6" PRId64 " ms\n", s->kind,
               s->name, s->ok ? "ok  " : "FAIL",
               s->ended_unix_ms > 0 ? s->ended_unix_ms - s->started_unix_ms : 0, s->gap_ms);
    }
    printf("acknowledged %" PRIu64 ", lost %" PRIu64 ", duplicated %" PRIu64 " (check errors %"
           PRIu64 "); digests %s on %u of %u nodes\n", drill->check.acknowledged,
           drill->check.lost, drill->check.duplicated, drill->check.errors,
           drill->verify.ok ? "equal" : "NOT equal", drill->verify.agree, drill->verify.nodes);
    printf("%s%s\n", ok ? "drill passed" : "drill FAILED: ", ok ? "" : drill->error);
}

/* ---- The run ---- */

int drill_run(const struct drill_options *options)
{
    static struct drill drill;
    memset(&drill, 0, sizeof drill);
    drill.options = options;
    drill.shape = options->short_form ? &drill_short : &drill_full;
    drill.start_ms = clock_now_ms();
    drill.deadline_ms = drill.start_ms + (int64_t)drill.shape->time_limit_s * 1000;
    drill.started_unix_ms = drill_unix_ms();
    snprintf(drill.house_secret, sizeof drill.house_secret, "drill house %" PRIu64, options->seed);
    struct sigaction action = {.sa_handler = drill_on_signal};
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (drill_prepare(&drill) != 0) {
        if (drill.log != NULL)
            fclose(drill.log);
        return 2;
    }
    bool upgraded = false;
    if (drill_cluster_up(&drill) == 0 && drill_load_begin(&drill) == 0)
        upgraded = drill_upgrade(&drill) == 0;
    drill_finish(&drill, upgraded);
    bool ok = upgraded && drill.error[0] == '\0' && drill.check.exit == 0 &&
              drill.check.errors == 0 && drill.verify.ok &&
              drill.verify.agree == drill.verify.nodes && drill.verify.nodes > 0;
    if (options->json)
        drill_print_json(&drill, ok);
    else
        drill_print_text(&drill, ok);
    drill_say(&drill, "%s in %" PRId64 " s; its log: %s/drill.log", ok ? "passed" : "FAILED",
              (clock_now_ms() - drill.start_ms) / 1000, drill.dir);
    fclose(drill.log);
    drill_load_free(&drill.load);
    free(drill.rehearsal);
    free(drill.out);
    if (ok && drill.dir_made) {
        char *argv[] = {"/bin/rm", "-rf", drill.dir, NULL};
        drill.deadline_ms = clock_now_ms() + 60000;
        drill.log = NULL;
        drill.out = malloc(DRILL_OUT_SIZE);
        if (drill.out != NULL)
            drill_child(&drill, "rm", argv, NULL, 60, NULL);
        free(drill.out);
    }
    return ok ? 0 : 1;
}
