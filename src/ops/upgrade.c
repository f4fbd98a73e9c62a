/* `nodown upgrade` (see upgrade.h). */
#include "ops/upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/result.h"
#include "gateway/admin_http.h"
#include "lib/clock.h"
#include "lib/dir_lock.h"
#include "node/handover.h"
#include "nodown/client.h"
#include "ops/cluster.h"
#include "ops/nats_upgrade.h"
#include "ops/verify.h"

/* How long `binary version --json` may take. */
#define UPGRADE_VERSION_TIMEOUT_MS 5000
/* How long an activation refused for a node that cannot run it yet is
 * asked again: a node replaced announces its build within a second. */
#define UPGRADE_ACTIVATE_RETRY_MS 15000
/* Descriptors a started process closes before exec. */
#define UPGRADE_FDS_CLOSE_MAX 1024
/* How long the digests of every node may take to be compared. */
#define UPGRADE_VERIFY_TIMEOUT_MS 30000

/* Starts argv with stdin from /dev/null and stdout and stderr into a
 * pipe; detached (its own session) when detach. Returns the pid and the
 * pipe's reading end in *out_fd, or -1. */
static pid_t upgrade_spawn(char *const argv[], bool detach, int *out_fd)
{
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        return -1;
    }
    if (pid == 0) {
        if (detach)
            setsid(); /* Ctrl-C on the upgrade does not reach the node */
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(pipe_fds[1], 1) < 0 ||
            dup2(pipe_fds[1], 2) < 0)
            _exit(126);
        /* Nothing else of ours: a pipe of the shell that started the
         * upgrade, held by a node living on, would keep its reader waiting. */
        for (int fd = 3; fd < UPGRADE_FDS_CLOSE_MAX; fd++)
            close(fd);
        execv(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pipe_fds[1]);
    *out_fd = pipe_fds[0];
    return pid;
}

/* Reads fd until it closes or timeout_ms passes; each line also goes to
 * stderr after prefix when prefix is not NULL. Returns 0 at the end of
 * the pipe, -1 on timeout. text gets the last size - 1 bytes. */
static int upgrade_read_all(int fd, int timeout_ms, const char *prefix, char *text, size_t size)
{
    size_t used = 0;
    text[0] = '\0';
    int64_t deadline_ms = clock_now_ms() + timeout_ms;
    char line[1024];
    size_t line_used = 0;
    for (;;) {
        int64_t left = deadline_ms - clock_now_ms();
        struct pollfd entry = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&entry, 1, (int)left) == 0)
            return -1;
        char buffer[512];
        ssize_t got = read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return 0;
        for (ssize_t i = 0; i < got; i++) {
            if (used + 1 >= size) { /* keep the end */
                memmove(text, text + size / 2, used - size / 2);
                used -= size / 2;
            }
            text[used++] = buffer[i];
            text[used] = '\0';
            if (line_used + 1 < sizeof line)
                line[line_used++] = buffer[i];
            if (buffer[i] == '\n') {
                line[line_used] = '\0';
                if (prefix != NULL)
                    fprintf(stderr, "%s%s", prefix, line);
                line_used = 0;
            }
        }
    }
}

int upgrade_binary_check(struct upgrade *upgrade, char *errmsg, size_t errmsg_size)
{
    if (access(upgrade->binary, X_OK) != 0) {
        snprintf(errmsg, errmsg_size, "%s: %s", upgrade->binary, strerror(errno));
        return -1;
    }
    char version[] = "version", json[] = "--json";
    char *argv[] = {(char *)upgrade->binary, version, json, NULL};
    int fd = -1;
    pid_t pid = upgrade_spawn(argv, false, &fd);
    if (pid < 0) {
        snprintf(errmsg, errmsg_size, "cannot start %s: %s", upgrade->binary, strerror(errno));
        return -1;
    }
    char text[4096];
    int rv = upgrade_read_all(fd, UPGRADE_VERSION_TIMEOUT_MS, NULL, text, sizeof text);
    close(fd);
    if (rv != 0)
        kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    const char *release = strstr(text, "\"release\":\"");
    if (rv != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || release == NULL) {
        snprintf(errmsg, errmsg_size, "%s version --json did not say its release (a build "
                 "older than release 0.2.0 cannot take over a node): %.200s", upgrade->binary,
                 text);
        return -1;
    }
    release += strlen("\"release\":\"");
    size_t length = strcspn(release, "\"");
    snprintf(upgrade->release, sizeof upgrade->release, "%.*s", (int)length, release);
    return 0;
}

/* ---- A node of a build that cannot hand over: stopped and restarted. ---- */

#define UPGRADE_ARGS_MAX 64u
#define UPGRADE_ENV_MAX 256u

/* A process's NUL-separated /proc file (cmdline, environ) as a vector;
 * returns the count, 0 when it cannot be read. */
static uint32_t upgrade_file_vector(const char *path, char *buffer, size_t size,
                                    char **vector, uint32_t max)
{
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return 0;
    size_t length = fread(buffer, 1, size - 1, file);
    fclose(file);
    buffer[length] = '\0';
    uint32_t count = 0;
    for (size_t at = 0; at < length && count + 1 < max; at += strlen(buffer + at) + 1)
        vector[count++] = buffer + at;
    vector[count] = NULL;
    return count;
}

static uint32_t upgrade_proc_vector(pid_t pid, const char *what, char *buffer, size_t size,
                                    char **vector, uint32_t max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, what);
    return upgrade_file_vector(path, buffer, size, vector, max);
}

static const char *upgrade_option(char **argv, uint32_t argc, const char *name)
{
    for (uint32_t i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

/* The admin port and token of a node started with argv on data_dir. */
static uint16_t upgrade_admin_of(char **argv, uint32_t argc, const char *data_dir,
                                 char *token, size_t size)
{
    const char *http = upgrade_option(argv, argc, "--http");
    const char *colon = http != NULL ? strrchr(http, ':') : NULL;
    const char *given = upgrade_option(argv, argc, "--token");
    token[0] = '\0';
    if (given != NULL) {
        snprintf(token, size, "%s", given);
    } else {
        char path[600];
        snprintf(path, sizeof path, "%s/admin.token", data_dir);
        admin_token_read(path, token, size);
    }
    return colon != NULL ? (uint16_t)atoi(colon + 1) : 7480;
}

int upgrade_node_listen(const char *data_dir, char *nodes, size_t size)
{
    static char args_text[16384];
    static char *argv[UPGRADE_ARGS_MAX];
    pid_t pid = dir_lock_holder_pid(data_dir);
    if (pid <= 0)
        return -1;
    /* Its options as it runs with them (node/start.h), else its command
     * line (a build before the file). */
    char path[600];
    snprintf(path, sizeof path, "%s/serve.args", data_dir);
    uint32_t argc = upgrade_file_vector(path, args_text, sizeof args_text, argv,
                                        UPGRADE_ARGS_MAX);
    if (argc == 0 || strcmp(argv[0], "1") != 0)
        argc = upgrade_proc_vector(pid, "cmdline", args_text, sizeof args_text, argv,
                                   UPGRADE_ARGS_MAX);
    if (argc < 2)
        return -1;
    const char *listen = upgrade_option(argv, argc, "--listen");
    snprintf(nodes, size, "%s", listen != NULL ? listen : "127.0.0.1:7400");
    return 0;
}

/* Waits until the node answers /status with pid and nothing left to
 * apply. Returns 0, or -1 when pid exits or the time is up. */
static int upgrade_wait_serving(pid_t pid, uint16_t port, const char *token, int timeout_ms)
{
    int64_t deadline_ms = clock_now_ms() + timeout_ms;
    char body[8192], field[32], lag[32];
    char want[32];
    snprintf(want, sizeof want, "%ld", (long)pid);
    while (clock_now_ms() < deadline_ms) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        if (admin_http_get(port, "/status", token, body, sizeof body) == 0) {
            admin_json_field(body, "pid", field, sizeof field);
            admin_json_field(body, "lag", lag, sizeof lag);
            if (strcmp(field, want) == 0 && strcmp(lag, "0") == 0)
                return 0;
        }
        nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
    }
    return -1;
}

/* Starts binary with the old node's arguments and environment, its output
 * appended where the old one's went. */
static pid_t upgrade_start_as(const char *binary, char **argv, char **envp, pid_t old)
{
    char out[2][PATH_MAX];
    for (int i = 0; i < 2; i++) {
        char link[64];
        snprintf(link, sizeof link, "/proc/%ld/fd/%d", (long)old, i + 1);
        ssize_t n = readlink(link, out[i], sizeof out[i] - 1);
        out[i][n > 0 && out[i][0] == '/' ? n : 0] = '\0';
        if (out[i][0] == '\0')
            snprintf(out[i], sizeof out[i], "/dev/null");
    }
    argv[0] = (char *)binary;
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setsid();
    int null_fd = open("/dev/null", O_RDONLY);
    int out_fd = open(out[0], O_WRONLY | O_APPEND | O_CREAT, 0644);
    int err_fd = open(out[1], O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (null_fd < 0 || out_fd < 0 || err_fd < 0 || dup2(null_fd, 0) < 0 ||
        dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(126);
    for (int fd = 3; fd < UPGRADE_FDS_CLOSE_MAX; fd++)
        close(fd);
    execve(binary, argv, envp);
    _exit(127);
}

/* The node serving data_dir runs a build without hand-over (release
 * 0.1.0): stop it and start the new binary as it was started. Its clients
 * fail over to another node meanwhile, or wait for the restart. */
static int upgrade_restart(struct upgrade *upgrade, const char *data_dir,
                           struct upgrade_step *step)
{
    static char args_text[16384], env_text[65536];
    static char *argv[UPGRADE_ARGS_MAX], *envp[UPGRADE_ENV_MAX];
    /* The lock's holder; a build before the lock (0.1.0): the process the
     * cluster's layout names, if it serves data_dir. */
    pid_t old = dir_lock_holder_pid(data_dir);
    if (old <= 0)
        old = step->old_pid;
    uint32_t argc = old > 0 ? upgrade_proc_vector(old, "cmdline", args_text, sizeof args_text,
                                                  argv, UPGRADE_ARGS_MAX)
                            : 0;
    const char *served = argc > 0 ? upgrade_option(argv, argc, "--data") : NULL;
    if (argc < 2 || strcmp(argv[1], "serve") != 0 || served == NULL ||
        strcmp(served, data_dir) != 0) {
        snprintf(step->error, sizeof step->error, "no node serves %s (the lock of %s is %s)",
                 data_dir, DIR_LOCK_NAME, old > 0 ? "held by another program" : "free");
        return -1;
    }
    upgrade_proc_vector(old, "environ", env_text, sizeof env_text, envp, UPGRADE_ENV_MAX);
    char token[160];
    uint16_t port = upgrade_admin_of(argv, argc, data_dir, token, sizeof token);
    step->old_pid = old;
    fprintf(stderr, "upgrade: %s: its build (pid %ld) cannot hand over: stopping it and "
            "starting %s in its place; its clients go to another node or wait\n", step->name,
            (long)old, upgrade->binary);
    int64_t start_ms = clock_now_ms();
    kill(old, SIGTERM);
    while (cluster_process_running(data_dir, old) && clock_now_ms() - start_ms < 30000)
        nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
    char *old_binary = strdup(argv[0]);
    pid_t pid = upgrade_start_as(upgrade->binary, argv, envp, old);
    int timeout_ms = upgrade->timeout_ms > 0 ? upgrade->timeout_ms : UPGRADE_TIMEOUT_MS_DEFAULT;
    if (pid < 0 || upgrade_wait_serving(pid, port, token, timeout_ms) != 0) {
        if (pid > 0) {
            kill(pid, SIGTERM);
            waitpid(pid, NULL, 0);
        }
        /* The old build back, as it was. */
        pid_t back = old_binary != NULL ? upgrade_start_as(old_binary, argv, envp, old) : -1;
        snprintf(step->error, sizeof step->error, "%s did not serve %s within %d ms; the old "
                 "build started again (pid %ld)", upgrade->binary, data_dir, timeout_ms,
                 (long)back);
        free(old_binary);
        return -1;
    }
    free(old_binary);
    step->pid = pid;
    step->took_ms = step->handover_ms = (uint64_t)(clock_now_ms() - start_ms);
    step->restarted = true;
    step->ok = true;
    char body[8192], field[64];
    if (admin_http_get(port, "/status", token, body, sizeof body) == 0) {
        admin_json_field(body, "applied_seq", field, sizeof field);
        step->seq = strtoull(field, NULL, 10);
        admin_json_field(body, "digest", step->digest, sizeof step->digest);
    }
    fprintf(stderr, "upgrade: %s: process %ld serves it after a restart of %" PRIu64 " ms\n",
            step->name, (long)pid, step->handover_ms);
    return 0;
}

/* The new process exited before DONE: the last line it wrote says why. */
static void upgrade_exit_error(struct upgrade_step *step, char *text, int status)
{
    size_t end = strlen(text);
    while (end > 0 && text[end - 1] == '\n')
        text[--end] = '\0';
    const char *last = strrchr(text, '\n');
    snprintf(step->error, sizeof step->error, "the new process exited (status %d) without "
             "taking over; the old node serves on: %.300s",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1,
             last != NULL ? last + 1 : end > 0 ? text : "(no output)");
}

/* The new process's line about its hand-over (node/takeover.c). */
static int upgrade_took(struct upgrade_step *step, const char *took)
{
    unsigned sessions = 0;
    unsigned long long seq = 0, ms = 0;
    char digest[40] = "";
    if (sscanf(took, "hand-over: took %u sessions at stream sequence %llu in %llu ms, digest "
                     "%32s", &sessions, &seq, &ms, digest) != 4) {
        snprintf(step->error, sizeof step->error, "the new process (pid %ld) runs but did not "
                 "report its hand-over", (long)step->pid);
        return -1;
    }
    step->sessions = sessions;
    step->seq = seq;
    step->handover_ms = ms;
    snprintf(step->digest, sizeof step->digest, "%s", digest);
    step->ok = true;
    fprintf(stderr, "upgrade: %s: process %ld serves it: %u sessions at stream sequence %llu, "
            "clients waited %llu ms, digest %s equal\n", step->name, (long)step->pid, sessions,
            seq, ms, digest);
    return 0;
}

int upgrade_node(struct upgrade *upgrade, const char *name, const char *data_dir,
                 struct upgrade_step *step)
{
    pid_t hint = step->old_pid; /* the layout's, or 0 */
    memset(step, 0, sizeof *step);
    step->old_pid = hint;
    snprintf(step->name, sizeof step->name, "%s", name);
    snprintf(step->dir, sizeof step->dir, "%s", data_dir);
    char probe[CLUSTER_PATH_MAX + 64];
    struct stat info;
    snprintf(probe, sizeof probe, "%s/%s", data_dir, HANDOVER_SOCKET_NAME);
    if (stat(probe, &info) != 0 || !S_ISSOCK(info.st_mode))
        return upgrade_restart(upgrade, data_dir, step);
    fprintf(stderr, "upgrade: %s: starting %s (release %s) beside the node serving %s\n",
            name, upgrade->binary, upgrade->release, data_dir);
    char serve[] = "serve", take_over[] = "--take-over", data[] = "--data";
    char *argv[] = {(char *)upgrade->binary, serve, take_over, data, step->dir, NULL};
    int64_t start_ms = clock_now_ms();
    int fd = -1;
    pid_t pid = upgrade_spawn(argv, true, &fd);
    if (pid < 0) {
        snprintf(step->error, sizeof step->error, "cannot start %s: %s", upgrade->binary,
                 strerror(errno));
        return -1;
    }
    /* The new process writes here until it has taken over; then into the
     * old node's output, and the pipe closes. */
    static char text[16384];
    int timeout_ms = upgrade->timeout_ms > 0 ? upgrade->timeout_ms : UPGRADE_TIMEOUT_MS_DEFAULT;
    int rv = upgrade_read_all(fd, timeout_ms, "  new: ", text, sizeof text);
    close(fd);
    step->took_ms = (uint64_t)(clock_now_ms() - start_ms);
    int status = 0;
    if (rv != 0) {
        kill(pid, SIGTERM); /* ours, and it has not taken over: the old node serves */
        waitpid(pid, &status, 0);
        snprintf(step->error, sizeof step->error, "the new process did not take over within "
                 "%d ms; stopped, the old node serves on", timeout_ms);
        return -1;
    }
    const char *took = strstr(text, "hand-over: took ");
    if (took == NULL) {
        /* The pipe closed without a hand-over: it is exiting; its last
         * line says why (serve's own error message). */
        for (int i = 0; i < 500 && waitpid(pid, &status, WNOHANG) == 0; i++)
            nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
        upgrade_exit_error(step, text, status);
        return -1;
    }
    step->pid = pid;
    return upgrade_took(step, took);
}

/* Every node's digest at one sequence (ops/verify.h). */
static int upgrade_verify(const char *dir, struct upgrade_step *step)
{
    static struct verify verify;
    memset(&verify, 0, sizeof verify);
    verify.timeout_ms = UPGRADE_VERIFY_TIMEOUT_MS;
    verify.out = stderr;
    int64_t start_ms = clock_now_ms();
    if (verify_add_cluster(&verify, dir) != 0)
        return -1;
    int rv = verify_run(&verify);
    step->verify_ms = (uint64_t)(clock_now_ms() - start_ms);
    if (rv != 0)
        snprintf(step->error, sizeof step->error, "the nodes do not agree after %s was "
                 "replaced (see the report above)", step->name);
    return rv;
}

int upgrade_activate(struct upgrade *upgrade, const char *nodes)
{
    char errmsg[512];
    struct nodown_client *client = NULL;
    /* A client id of its own: the wall clock's milliseconds, never reused. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t client_id = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
    int64_t start_ms = clock_now_ms();
    fprintf(stderr, "upgrade: publishing ACTIVATE_LOGIC %u through %s\n", upgrade->activate,
            nodes);
    if (nodown_client_open(&client, nodes, client_id, 0, upgrade->house_secret, NULL, errmsg,
                           sizeof errmsg) != 0) {
        fprintf(stderr, "upgrade: cannot log on as the house: %s\n", errmsg);
        return -1;
    }
    struct command command;
    memset(&command, 0, sizeof command);
    command.type = COMMAND_ACTIVATE_LOGIC;
    command.u.activate_logic.logic_version = upgrade->activate;
    uint64_t client_seq = 0;
    struct nodown_outcome outcome;
    upgrade->activate_sent = true;
    int rv = 0;
    /* A node just replaced says what it runs in the node registry a moment
     * after it serves: a refusal naming it is asked again, for a while (a
     * refused activation is never published). */
    for (int64_t until = clock_now_ms() + UPGRADE_ACTIVATE_RETRY_MS;;) {
        rv = nodown_client_send(client, &command, &client_seq);
        if (rv == 0)
            rv = nodown_client_wait(client, &outcome, 30000);
        if (rv != 0 || outcome.result != REJECT_LOGIC_NOT_EVERYWHERE || clock_now_ms() > until)
            break;
        nanosleep(&(struct timespec){.tv_nsec = 200000000}, NULL);
    }
    nodown_client_close(client);
    upgrade->activate_ms = (uint64_t)(clock_now_ms() - start_ms);
    if (rv != 0) {
        fprintf(stderr, "upgrade: the activation got no answer (%d)\n", rv);
        return -1;
    }
    upgrade->activate_result = outcome.result;
    upgrade->activate_seq = outcome.stream_seq;
    upgrade->activate_id = outcome.id;
    if (outcome.result == REJECT_LOGIC_NOT_EVERYWHERE) {
        fprintf(stderr, "upgrade: ACTIVATE_LOGIC %u refused, not published: node %" PRIu64
                " cannot run it\n", upgrade->activate, outcome.id);
        return -1;
    }
    if (outcome.result != RESULT_OK) {
        fprintf(stderr, "upgrade: ACTIVATE_LOGIC %u refused: %s\n", upgrade->activate,
                result_text(outcome.result));
        return -1;
    }
    fprintf(stderr, "upgrade: logic version %u active from stream sequence %" PRIu64 "\n",
            upgrade->activate, outcome.stream_seq);
    return 0;
}

/* The NATS servers, one at a time (ops/nats_upgrade.h). */
static int upgrade_nats(struct upgrade *upgrade, const char *dir)
{
    static struct nats_upgrade_report report;
    char errmsg[512];
    upgrade->nats = &report;
    int rv = nats_upgrade_run(dir, upgrade->nats_binary, &report, errmsg, sizeof errmsg);
    upgrade->nats_done = rv == 0;
    if (rv != 0)
        fprintf(stderr, "upgrade: the NATS servers: %s\n", errmsg);
    return rv == 0 ? 0 : -1;
}

/* The client port of every node of the layout, as a client's node list. */
static void upgrade_nodes_list(const struct cluster_layout *layout, char *text, size_t size)
{
    size_t used = 0;
    text[0] = '\0';
    for (uint32_t i = 0; i < layout->node_count && used < size; i++)
        used += (size_t)snprintf(text + used, size - used, "%s127.0.0.1:%u", i > 0 ? "," : "",
                                 layout->nodes[i].ports[0]);
}

int upgrade_cluster(struct upgrade *upgrade, const char *dir)
{
    struct cluster_layout layout;
    if (cluster_layout_load(dir, &layout) != 0) {
        fprintf(stderr, "nodown upgrade: no cluster in %s (cluster.txt)\n", dir);
        return 1;
    }
    int64_t start_ms = clock_now_ms();
    if (upgrade->nats_binary != NULL && upgrade_nats(upgrade, dir) != 0) {
        upgrade->total_ms = (uint64_t)(clock_now_ms() - start_ms);
        return 1;
    }
    if (upgrade->binary == NULL)
        layout.node_count = 0, layout.dr = false; /* the nodes stay */
    uint32_t count = layout.node_count + (layout.dr ? 1u : 0u);
    for (uint32_t i = 0; i < count && upgrade->step_count < 24; i++) {
        bool dr = i == layout.node_count;
        char name[32], data[CLUSTER_PATH_MAX + 40];
        snprintf(name, sizeof name, dr ? "dr-node" : "node-%u", i);
        snprintf(data, sizeof data, "%s/%s", dir, name);
        struct upgrade_step *step = &upgrade->steps[upgrade->step_count++];
        pid_t old_pid = dr ? layout.dr_node.pid : layout.nodes[i].pid;
        step->old_pid = old_pid;
        if (upgrade_node(upgrade, name, data, step) != 0 ||
            cluster_node_pid_set(dir, dr ? CLUSTER_NODES_MAX : i, step->pid) != 0 ||
            upgrade_verify(dir, step) != 0) {
            step->ok = false;
            step->old_pid = old_pid;
            fprintf(stderr, "upgrade: stopped at %s: %s\n", name, step->error);
            upgrade->total_ms = (uint64_t)(clock_now_ms() - start_ms);
            return 1;
        }
        step->old_pid = old_pid;
    }
    int rv = 0;
    if (upgrade->activate != 0) {
        char nodes[CLUSTER_NODES_MAX * 24];
        cluster_layout_load(dir, &layout);
        upgrade_nodes_list(&layout, nodes, sizeof nodes);
        rv = upgrade_activate(upgrade, nodes) == 0 ? 0 : 1;
    }
    upgrade->total_ms = (uint64_t)(clock_now_ms() - start_ms);
    return rv;
}

void upgrade_report(const struct upgrade *upgrade)
{
    uint64_t longest = 0;
    for (uint32_t i = 0; i < upgrade->step_count; i++)
        if (upgrade->steps[i].handover_ms > longest)
            longest = upgrade->steps[i].handover_ms;
    if (!upgrade->json) {
        for (uint32_t i = 0; i < upgrade->step_count; i++) {
            const struct upgrade_step *s = &upgrade->steps[i];
            printf("%-10s %s pid %ld, stream sequence %" PRIu64 ", %u sessions, hand-over %"
                   PRIu64 " ms, took %" PRIu64 " ms%s%s\n", s->name, s->ok ? "ok  " : "FAIL",
                   (long)s->pid, s->seq, s->sessions, s->handover_ms, s->took_ms,
                   s->ok ? "" : ": ", s->error);
        }
        if (upgrade->activate_sent)
            printf("ACTIVATE_LOGIC %u: %s at stream sequence %" PRIu64 " (%" PRIu64 " ms)\n",
                   upgrade->activate, result_text(upgrade->activate_result),
                   upgrade->activate_seq, upgrade->activate_ms);
        printf("upgraded to release %s in %" PRIu64 " ms; the longest hand-over %" PRIu64
               " ms\n", upgrade->release, upgrade->total_ms, longest);
        return;
    }
    printf("{\"release\":\"%s\",\"total_ms\":%" PRIu64 ",\"longest_handover_ms\":%" PRIu64,
           upgrade->release, upgrade->total_ms, longest);
    if (upgrade->nats != NULL) {
        printf(",\"nats\":");
        nats_upgrade_report_json(upgrade->nats, stdout); /* ends with a newline */
    }
    if (upgrade->activate_sent)
        printf(",\"activate\":{\"version\":%u,\"result\":\"%s\",\"stream_seq\":%" PRIu64
               ",\"node\":%" PRIu64 ",\"ms\":%" PRIu64 "}", upgrade->activate,
               result_name(upgrade->activate_result), upgrade->activate_seq,
               upgrade->activate_id, upgrade->activate_ms);
    printf(",\"steps\":[");
    for (uint32_t i = 0; i < upgrade->step_count; i++) {
        const struct upgrade_step *s = &upgrade->steps[i];
        char error[512];
        size_t k = 0;
        for (const char *c = s->error; *c != '\0' && k + 1 < sizeof error; c++)
            error[k++] = *c == '"' || *c == '\\' || (unsigned char)*c < 0x20 ? '\'' : *c;
        error[k] = '\0';
        printf("%s{\"name\":\"%s\",\"ok\":%s,\"old_pid\":%ld,\"pid\":%ld,\"seq\":%" PRIu64
               ",\"sessions\":%u,\"handover_ms\":%" PRIu64 ",\"took_ms\":%" PRIu64
               ",\"verify_ms\":%" PRIu64 ",\"method\":\"%s\",\"digest\":\"%s\","
               "\"error\":\"%s\"}",
               i > 0 ? "," : "", s->name, s->ok ? "true" : "false", (long)s->old_pid,
               (long)s->pid, s->seq, s->sessions, s->handover_ms, s->took_ms, s->verify_ms,
               s->restarted ? "restart" : "hand-over", s->digest, error);
    }
    printf("]}\n");
}
