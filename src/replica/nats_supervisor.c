/* The embedded default's nats-server child (see nats_supervisor.h and
 * docs/journal.md).
 *
 * Starting is four steps, each of which can fail on its own:
 *
 *   stale_wait    a server from a previous run of this node (killed -9,
 *                 its child got SIGTERM from the kernel) may still be
 *                 flushing the same store: wait until it is gone
 *   config_write  DIR/nats/nats.conf, rewritten each time so that it is
 *                 always what this build means
 *   spawn         fork, and in the child only async-signal-safe calls
 *                 until execv: the parent may have libnats threads, so
 *                 everything the child needs is prepared before fork
 *   ready_wait    a TCP connection to 127.0.0.1:<port> that reads the
 *                 server's INFO line with "jetstream":true and this
 *                 start's server name (so not another process that took
 *                 the port). nats-server enables JetStream and recovers
 *                 every stream before it accepts clients, so INFO means
 *                 the journal is readable.
 *
 * A restart (nats_supervisor_poll) repeats spawn and ready_wait with the
 * same config file, port and store.
 */
#include "replica/nats_supervisor.h"

#include <arpa/inet.h>
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/result.h"
#include "lib/clock.h"
#include "replica/nats_version.h"

extern char **environ;

/* JetStream's own limits for the embedded server. The file store holds
 * the journal, which grows until retention trims it (docs/journal.md):
 * 1 TB is nats-server's own upper default, the disk is the real bound.
 * Memory storage holds only consumer state (ordered consumers keep theirs
 * in memory), so a small budget is plenty. */
#define NATS_SUPERVISOR_FILE_STORE "1TB"
#define NATS_SUPERVISOR_MEMORY_STORE "64MB"
/* File descriptors the child closes before exec (all it can inherit from
 * a normal process; above this, leaked descriptors would stay open). */
#define NATS_SUPERVISOR_FDS_CLOSE_MAX 65536
/* Environment entries passed to the server at most (the node's own and
 * GOMAXPROCS); more are dropped. */
#define NATS_SUPERVISOR_ENV_MAX 1024
/* Between two connection attempts while waiting for the server. */
#define NATS_SUPERVISOR_READY_POLL_MS 10
/* How long one attempt waits for the INFO line. */
#define NATS_SUPERVISOR_INFO_TIMEOUT_MS 500

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* "exit status 1", "killed by signal 9", or "unknown status" when the
 * child was reaped by someone else. */
static void status_text(int status, char *text, size_t text_size)
{
    if (status >= 0 && WIFEXITED(status))
        snprintf(text, text_size, "exit status %d", WEXITSTATUS(status));
    else if (status >= 0 && WIFSIGNALED(status))
        snprintf(text, text_size, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(text, text_size, "unknown status");
}

/* ---- Paths and files. ---- */

static int path_join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, NATS_SUPERVISOR_PATH_SIZE, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= NATS_SUPERVISOR_PATH_SIZE ? ERR_USAGE : 0;
}

static int dir_make(const char *path, char *errmsg, size_t errmsg_size)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        snprintf(errmsg, errmsg_size, "%s: %s", path, strerror(errno));
        return ERR_IO;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(errmsg, errmsg_size, "%s: not a directory", path);
        return ERR_IO;
    }
    return 0;
}

/* The data directory goes into a quoted string of the config file: refuse
 * anything the config parser could read as more than a path. */
static bool path_is_plain(const char *path)
{
    for (const char *c = path; *c != '\0'; c++) {
        if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
            return false;
    }
    return path[0] != '\0';
}

static int paths_set(struct nats_supervisor *supervisor, const char *data_dir, char *errmsg,
                     size_t errmsg_size)
{
    if (!path_is_plain(data_dir)) {
        snprintf(errmsg, errmsg_size, "data directory \"%.200s\": empty, or holds a quote, "
                 "a backslash or a control character", data_dir);
        return ERR_USAGE;
    }
    int rv = path_join(supervisor->dir, data_dir, "nats");
    if (rv == 0)
        rv = path_join(supervisor->config_path, supervisor->dir, "nats.conf");
    if (rv == 0)
        rv = path_join(supervisor->log_path, supervisor->dir, "nats.log");
    if (rv == 0)
        rv = path_join(supervisor->pid_path, supervisor->dir, "nats.pid");
    if (rv != 0) {
        snprintf(errmsg, errmsg_size, "data directory \"%.200s\": path too long", data_dir);
        return rv;
    }
    rv = dir_make(data_dir, errmsg, errmsg_size);
    if (rv == 0)
        rv = dir_make(supervisor->dir, errmsg, errmsg_size);
    return rv;
}

static int config_write(const struct nats_supervisor *supervisor, char *errmsg,
                        size_t errmsg_size)
{
    FILE *file = fopen(supervisor->config_path, "w");
    if (file == NULL) {
        snprintf(errmsg, errmsg_size, "%s: %s", supervisor->config_path, strerror(errno));
        return ERR_IO;
    }
    /* always: each write fsynced before its publish is acknowledged; an
     * interval: the store fsynced that often (docs/journal.md). */
    char sync_interval[DURABILITY_TEXT_SIZE];
    durability_sync_interval(&supervisor->durability, sync_interval);
    fprintf(file,
            "# The embedded default's NATS server, written by nodown at each start\n"
            "# (src/replica/nats_supervisor.c, docs/journal.md): edits are lost.\n"
            "server_name: \"%s\"\n"
            "listen: \"127.0.0.1:%u\"\n"
            "jetstream {\n"
            "    store_dir: \"%s\"\n"
            "    max_file_store: %s\n"
            "    max_memory_store: %s\n"
            "    sync_interval: %s\n"
            "}\n",
            supervisor->server_name, (unsigned)supervisor->port, supervisor->dir,
            NATS_SUPERVISOR_FILE_STORE, NATS_SUPERVISOR_MEMORY_STORE, sync_interval);
    bool failed = ferror(file) != 0;
    if (fclose(file) != 0 || failed) {
        snprintf(errmsg, errmsg_size, "%s: write failed", supervisor->config_path);
        return ERR_IO;
    }
    return 0;
}

static void pid_write(const struct nats_supervisor *supervisor)
{
    FILE *file = fopen(supervisor->pid_path, "w");
    /* The pid file only lets a later start wait for a lingering server;
     * failing to write it is reported and otherwise harmless. */
    if (file == NULL) {
        fprintf(stderr, "nodown: %s: %s\n", supervisor->pid_path, strerror(errno));
        return;
    }
    fprintf(file, "%ld\n", (long)supervisor->pid);
    fclose(file);
}

/* True while process pid runs with our config file as an argument (a
 * zombie's cmdline is empty, so a dead server does not match). */
static bool process_is_our_server(const struct nats_supervisor *supervisor, long pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return false;
    char cmdline[2 * NATS_SUPERVISOR_PATH_SIZE];
    size_t size = fread(cmdline, 1, sizeof cmdline - 1, file);
    fclose(file);
    cmdline[size] = '\0';
    /* The arguments are NUL-separated: compare each whole. */
    for (size_t i = 0; i < size; i += strlen(cmdline + i) + 1) {
        if (strcmp(cmdline + i, supervisor->config_path) == 0)
            return true;
    }
    return false;
}

static int stale_wait(const struct nats_supervisor *supervisor, char *errmsg,
                      size_t errmsg_size)
{
    FILE *file = fopen(supervisor->pid_path, "r");
    if (file == NULL)
        return 0;
    long pid = 0;
    int fields = fscanf(file, "%ld", &pid);
    fclose(file);
    if (fields != 1 || pid <= 0)
        return 0;
    int64_t deadline_ms = clock_now_ms() + NATS_SUPERVISOR_STOP_TIMEOUT_MS;
    while (process_is_our_server(supervisor, pid)) {
        if (clock_now_ms() > deadline_ms) {
            snprintf(errmsg, errmsg_size, "a nats-server (pid %ld) still runs on %s; "
                     "stop it first", pid, supervisor->config_path);
            return ERR_IO;
        }
        sleep_ms(NATS_SUPERVISOR_READY_POLL_MS);
    }
    return 0;
}

/* ---- The port. ---- */

/* Binds port 0 on loopback and reads the port the kernel chose. Another
 * process could take it before nats-server binds it; start then fails
 * with the server's message in the log, and the caller may retry. */
static int port_pick(uint16_t *port, char *errmsg, size_t errmsg_size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        snprintf(errmsg, errmsg_size, "socket: %s", strerror(errno));
        return ERR_IO;
    }
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    int rv = 0;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 ||
        getsockname(fd, (struct sockaddr *)&address, &size) != 0) {
        snprintf(errmsg, errmsg_size, "picking a loopback port: %s", strerror(errno));
        rv = ERR_IO;
    } else {
        *port = ntohs(address.sin_port);
    }
    close(fd);
    return rv;
}

/* ---- The child. ---- */

/* Runs in the forked child: only async-signal-safe calls, then exec. */
static void child_exec(const struct nats_supervisor *supervisor, pid_t parent, int fd_max,
                       char *const argv[], char *const envp[])
{
    setpgid(0, 0); /* Ctrl-C reaches the node, which then stops NATS in order */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127); /* the node died before prctl took effect */
    int log_fd = open(supervisor->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int null_fd = open("/dev/null", O_RDONLY);
    if (log_fd < 0 || null_fd < 0)
        _exit(126);
    if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
        _exit(126);
    for (int fd = 3; fd < fd_max; fd++)
        close(fd);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(supervisor->server_path, argv, envp);
    _exit(127);
}

/* The server's environment: the node's, plus GOMAXPROCS (the Go
 * runtime's threads running Go code at once) when the node's has none.
 * The embedded server shares the machine with its node, which needs a
 * core for its loop: half the cores, at least one. On this 2-core VM one
 * instead of two cut the server's CPU per acknowledged order by about a
 * quarter (its idle threads spin less) with the same throughput
 * (docs/journal.md). envp holds up to NATS_SUPERVISOR_ENV_MAX entries. */
static void child_environment(char **envp, char *gomaxprocs, size_t gomaxprocs_size)
{
    extern char **environ;
    size_t count = 0;
    bool has_gomaxprocs = false;
    for (char **entry = environ; *entry != NULL && count + 2 < NATS_SUPERVISOR_ENV_MAX;
         entry++) {
        has_gomaxprocs = has_gomaxprocs || strncmp(*entry, "GOMAXPROCS=", 11) == 0;
        envp[count++] = *entry;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (!has_gomaxprocs) {
        snprintf(gomaxprocs, gomaxprocs_size, "GOMAXPROCS=%ld", cores >= 4 ? cores / 2 : 1);
        envp[count++] = gomaxprocs;
    }
    envp[count] = NULL;
}

static int spawn(struct nats_supervisor *supervisor, char *errmsg, size_t errmsg_size)
{
    assert(supervisor->pid == 0);
    static char *envp[NATS_SUPERVISOR_ENV_MAX]; /* start and poll run on one thread */
    static char gomaxprocs[32];
    child_environment(envp, gomaxprocs, sizeof gomaxprocs);
    char config_flag[] = "-c";
    char *argv[] = {supervisor->server_path, config_flag, supervisor->config_path, NULL};
    long fd_max = sysconf(_SC_OPEN_MAX);
    if (fd_max < 0 || fd_max > NATS_SUPERVISOR_FDS_CLOSE_MAX)
        fd_max = NATS_SUPERVISOR_FDS_CLOSE_MAX;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(errmsg, errmsg_size, "fork: %s", strerror(errno));
        return ERR_IO;
    }
    if (pid == 0)
        child_exec(supervisor, parent, (int)fd_max, argv, envp);
    supervisor->pid = pid;
    pid_write(supervisor);
    assert(supervisor->pid > 0);
    return 0;
}

/* waitpid without blocking: true if the child has exited (and is reaped),
 * its status in *status (-1 if someone else reaped it). */
static bool child_exited(struct nats_supervisor *supervisor, int *status)
{
    assert(supervisor->pid > 0);
    int wstatus = 0;
    pid_t pid = waitpid(supervisor->pid, &wstatus, WNOHANG);
    if (pid == 0 || (pid < 0 && errno == EINTR))
        return false;
    *status = pid == supervisor->pid ? wstatus : -1;
    supervisor->pid = 0;
    return true;
}

/* ---- Readiness. ---- */

/* One attempt: connect, read the INFO line, look for JetStream and for
 * our server name (another process could have taken the port we picked). */
static bool info_is_ready(const struct nats_supervisor *supervisor)
{
    char name_field[96], errmsg[128], line[4096];
    snprintf(name_field, sizeof name_field, "\"server_name\":\"%s\"", supervisor->server_name);
    /* Not listening yet is the usual reason to fail: the caller retries. */
    if (nats_info_read(supervisor->url, NATS_SUPERVISOR_INFO_TIMEOUT_MS, line, sizeof line,
                       errmsg, sizeof errmsg) != 0)
        return false;
    return strncmp(line, "INFO ", 5) == 0 && strstr(line, "\"jetstream\":true") != NULL &&
           strstr(line, name_field) != NULL;
}

static int ready_wait(struct nats_supervisor *supervisor, char *errmsg, size_t errmsg_size)
{
    int64_t deadline_ms = clock_now_ms() + NATS_SUPERVISOR_READY_TIMEOUT_MS;
    for (;;) {
        int status = 0;
        if (child_exited(supervisor, &status)) {
            char text[64];
            status_text(status, text, sizeof text);
            supervisor->last_exit_status = status;
            snprintf(errmsg, errmsg_size, "nats-server exited while starting (%s); see %s",
                     text, supervisor->log_path);
            return ERR_IO;
        }
        if (info_is_ready(supervisor))
            return 0;
        if (clock_now_ms() > deadline_ms) {
            snprintf(errmsg, errmsg_size, "nats-server not ready on 127.0.0.1:%u after %d ms; "
                     "see %s", (unsigned)supervisor->port, NATS_SUPERVISOR_READY_TIMEOUT_MS,
                     supervisor->log_path);
            return ERR_IO;
        }
        sleep_ms(NATS_SUPERVISOR_READY_POLL_MS);
    }
}

/* spawn + ready_wait; on failure the child is stopped. */
static int run(struct nats_supervisor *supervisor, char *errmsg, size_t errmsg_size)
{
    int rv = spawn(supervisor, errmsg, errmsg_size);
    if (rv == 0)
        rv = ready_wait(supervisor, errmsg, errmsg_size);
    if (rv != 0)
        nats_supervisor_stop(supervisor);
    return rv;
}

/* ---- Syncing the store after a stop. ---- */

/* nats-server does not fsync its files when it stops (2.10.27, like
 * 2.9.10, closes its message blocks without a sync). With sync_interval
 * always every write was synced already; with an interval the journal's
 * tail may still be in the page cache only after a clean stop. fsync
 * every file and directory of the store, so that a machine switched off
 * after `nodown serve` has stopped loses nothing. Files already on disk
 * cost a system call each. */
static void tree_sync(const char *path, int depth)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && depth < 8) {
        DIR *dir = opendir(path);
        struct dirent *entry;
        while (dir != NULL && (entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            char child[NATS_SUPERVISOR_PATH_SIZE];
            int n = snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
            if (n > 0 && (size_t)n < sizeof child)
                tree_sync(child, depth + 1);
        }
        if (dir != NULL)
            closedir(dir);
    }
    /* Only a report: the files are as safe as nats-server left them. */
    if (fsync(fd) != 0 && errno != EINVAL)
        fprintf(stderr, "nodown: fsync %s: %s\n", path, strerror(errno));
    close(fd);
}

/* ---- The server's version. ---- */

/* Runs `path --version` and reads the line it prints, "nats-server:
 * v2.10.27", into line. Returns 0, or ERR_IO with a message. */
static int version_line(const char *path, char *line, size_t line_size, char *errmsg,
                        size_t errmsg_size)
{
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(errmsg, errmsg_size, "pipe: %s", strerror(errno));
        return ERR_IO;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    char flag[] = "--version";
    char *argv[] = {(char *)path, flag, NULL};
    pid_t pid = 0;
    int rv = posix_spawn(&pid, path, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rv == 0) {
        nats_line_read(fds[0], line, line_size, NATS_SUPERVISOR_VERSION_TIMEOUT_MS);
        kill(pid, SIGKILL); /* our own child, done or stuck: it has said its line */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
    } else {
        snprintf(errmsg, errmsg_size, "cannot run %.200s: %s; nodown needs nats-server %u.%u "
                 "or newer: " NATS_VERSION_INSTALL, path, strerror(rv), NATS_VERSION_MAJOR_MIN,
                 NATS_VERSION_MINOR_MIN);
    }
    close(fds[0]);
    return rv == 0 ? 0 : ERR_IO;
}

int nats_supervisor_version_check(const char *path, char *errmsg, size_t errmsg_size)
{
    assert(path != NULL);
    char line[256];
    int rv = version_line(path, line, sizeof line, errmsg, errmsg_size);
    if (rv != 0)
        return rv;
    line[strcspn(line, "\r\n")] = '\0';
    static const char prefix[] = "nats-server: ";
    const char *version = strncmp(line, prefix, sizeof prefix - 1) == 0
                              ? line + sizeof prefix - 1 : line;
    return nats_version_check(version, path, errmsg, errmsg_size);
}

const char *nats_supervisor_server_path(void)
{
    const char *path = getenv(NATS_SUPERVISOR_SERVER_ENV);
    return path != NULL && path[0] != '\0' ? path : NATS_SUPERVISOR_SERVER_PATH;
}

/* ---- The public functions. ---- */

int nats_supervisor_start(struct nats_supervisor *supervisor, const char *data_dir,
                          uint16_t port, struct durability durability, char *errmsg,
                          size_t errmsg_size)
{
    assert(supervisor != NULL);
    assert(data_dir != NULL);
    assert(durability.interval_ms <= DURABILITY_INTERVAL_MS_MAX);
    memset(supervisor, 0, sizeof *supervisor);
    supervisor->last_exit_status = -1;
    supervisor->durability = durability;
    int rv = paths_set(supervisor, data_dir, errmsg, errmsg_size);
    if (rv == 0)
        rv = stale_wait(supervisor, errmsg, errmsg_size);
    if (rv == 0 && port == 0)
        rv = port_pick(&port, errmsg, errmsg_size);
    if (rv != 0)
        return rv;
    supervisor->port = port;
    if (snprintf(supervisor->server_path, sizeof supervisor->server_path, "%s",
                 nats_supervisor_server_path()) >= (int)sizeof supervisor->server_path) {
        snprintf(errmsg, errmsg_size, "$" NATS_SUPERVISOR_SERVER_ENV ": path too long");
        return ERR_USAGE;
    }
    rv = nats_supervisor_version_check(supervisor->server_path, errmsg, errmsg_size);
    if (rv != 0)
        return rv;
    snprintf(supervisor->server_name, sizeof supervisor->server_name, "nodown-%ld-%u",
             (long)getpid(), (unsigned)port);
    snprintf(supervisor->url, sizeof supervisor->url, "nats://127.0.0.1:%u", (unsigned)port);
    rv = config_write(supervisor, errmsg, errmsg_size);
    if (rv == 0)
        rv = run(supervisor, errmsg, errmsg_size);
    assert(rv != 0 || supervisor->pid > 0);
    return rv;
}

int nats_supervisor_poll(struct nats_supervisor *supervisor)
{
    assert(supervisor != NULL);
    assert(supervisor->port != 0);
    if (supervisor->adopted) {
        struct pollfd entry = {.fd = supervisor->keeper_fd, .events = POLLIN};
        if (poll(&entry, 1, 0) == 0)
            return 0;
        /* The keeper closed its end: the server has exited. */
        close(supervisor->keeper_fd);
        supervisor->keeper_fd = -1;
        supervisor->adopted = false;
        supervisor->pid = 0;
        supervisor->restart_count++;
        fprintf(stderr, "nodown: nats-server on %s exited; starting one of this node's "
                "(restart %u)\n", supervisor->url, (unsigned)supervisor->restart_count);
        snprintf(supervisor->server_name, sizeof supervisor->server_name, "nodown-%ld-%u",
                 (long)getpid(), (unsigned)supervisor->port);
        int rv = config_write(supervisor, supervisor->last_error,
                              sizeof supervisor->last_error);
        if (rv != 0)
            return rv;
    } else if (supervisor->pid > 0) {
        int status = 0;
        if (!child_exited(supervisor, &status))
            return 0;
        char text[64];
        status_text(status, text, sizeof text);
        supervisor->last_exit_status = status;
        supervisor->restart_count++;
        fprintf(stderr, "nodown: nats-server on %s exited (%s); restarting it (restart %u)\n",
                supervisor->url, text, (unsigned)supervisor->restart_count);
    }
    int rv = run(supervisor, supervisor->last_error, sizeof supervisor->last_error);
    if (rv != 0) {
        fprintf(stderr, "nodown: restarting nats-server: %s\n", supervisor->last_error);
        return rv;
    }
    supervisor->last_error[0] = '\0';
    assert(supervisor->pid > 0);
    return 0;
}

/* Asks the keeper to stop the server and waits until it says it has
 * (closes its end), at most the stop timeout and a margin. */
static void keeper_stop(struct nats_supervisor *supervisor)
{
    char stop = 'S';
    if (write(supervisor->keeper_fd, &stop, 1) == 1) {
        int64_t deadline_ms = clock_now_ms() + NATS_SUPERVISOR_STOP_TIMEOUT_MS + 5000;
        char byte;
        for (;;) {
            struct pollfd entry = {.fd = supervisor->keeper_fd, .events = POLLIN};
            int64_t left = deadline_ms - clock_now_ms();
            if (left <= 0 || poll(&entry, 1, (int)left) == 0) {
                fprintf(stderr, "nodown: the nats-server keeper did not stop the server "
                        "(pid %ld) in time\n", (long)supervisor->pid);
                break;
            }
            if (read(supervisor->keeper_fd, &byte, 1) <= 0)
                break; /* closed: stopped */
        }
    }
    close(supervisor->keeper_fd);
    supervisor->keeper_fd = -1;
    supervisor->adopted = false;
    supervisor->pid = 0;
}

/* Stops our child server pid and its store: SIGTERM, up to the stop
 * timeout, then SIGKILL; reaps it, removes the pid file and fsyncs every
 * file of the store (nats-server 2.10, like 2.9, closes its files unsynced
 * on its way out). Shared by a node's supervisor and the keeper. */
static void server_stop(pid_t pid, const char *pid_path, const char *store)
{
    int status = 0;
    kill(pid, SIGTERM);
    int64_t deadline_ms = clock_now_ms() + NATS_SUPERVISOR_STOP_TIMEOUT_MS;
    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid || (got < 0 && errno != EINTR))
            break;
        if (clock_now_ms() > deadline_ms) {
            fprintf(stderr, "nodown: nats-server (pid %ld) ignored SIGTERM for %d ms; "
                    "sending SIGKILL\n", (long)pid, NATS_SUPERVISOR_STOP_TIMEOUT_MS);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            break;
        }
        sleep_ms(NATS_SUPERVISOR_READY_POLL_MS);
    }
    unlink(pid_path);
    tree_sync(store, 0);
}

void nats_supervisor_stop(struct nats_supervisor *supervisor)
{
    assert(supervisor != NULL);
    if (supervisor->adopted) {
        keeper_stop(supervisor);
        return;
    }
    if (supervisor->pid <= 0)
        return;
    char store[NATS_SUPERVISOR_PATH_SIZE + 16];
    snprintf(store, sizeof store, "%s/jetstream", supervisor->dir);
    server_stop(supervisor->pid, supervisor->pid_path, store);
    supervisor->pid = 0;
}

/* ---- Hand-over: the keeper (nats_supervisor.h). ---- */

int nats_supervisor_keeper_pair(struct nats_supervisor *supervisor, int *node_end,
                                int *keeper_end, char *errmsg, size_t errmsg_size)
{
    int pair[2];
    if (supervisor->adopted || supervisor->pid <= 0) {
        snprintf(errmsg, errmsg_size, "no nats-server child of this node to hand over%s",
                 supervisor->adopted ? " (it has a keeper already: restart the node first)"
                                     : "");
        return ERR_USAGE;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        snprintf(errmsg, errmsg_size, "socketpair: %s", strerror(errno));
        return ERR_IO;
    }
    *node_end = pair[0];
    *keeper_end = pair[1];
    return 0;
}

void nats_supervisor_keep_exec(const struct nats_supervisor *supervisor, int keeper_end)
{
    char pid[24], fd[24];
    snprintf(pid, sizeof pid, "%ld", (long)supervisor->pid);
    snprintf(fd, sizeof fd, "%d", keeper_end);
    char store[NATS_SUPERVISOR_PATH_SIZE + 16];
    snprintf(store, sizeof store, "%s/jetstream", supervisor->dir);
    int flags = fcntl(keeper_end, F_GETFD);
    if (flags < 0 || fcntl(keeper_end, F_SETFD, flags & ~FD_CLOEXEC) != 0)
        return;
    char name[] = "nodown", command[] = "nats-keeper";
    char *argv[] = {name, command, pid, fd, (char *)supervisor->pid_path, store, NULL};
    execve("/proc/self/exe", argv, environ);
}

static volatile sig_atomic_t keeper_term;

static void keeper_on_term(int signal_number)
{
    (void)signal_number;
    keeper_term = 1;
}

int nats_supervisor_keeper_main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: nodown nats-keeper PID FD PIDFILE STORE (started by a node "
                "handing over, not by hand)\n");
        return 2;
    }
    pid_t pid = (pid_t)atol(argv[0]);
    int fd = atoi(argv[1]);
    /* Only the node end and the standard ones stay open. */
    for (int other = 3; other < 1024; other++)
        if (other != fd)
            close(other);
    signal(SIGINT, SIG_IGN); /* Ctrl-C is for the node, which stops the server through us */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, keeper_on_term); /* stop the server in order, as a node would */
    for (;;) {
        int status = 0;
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid || (got < 0 && errno == ECHILD)) {
            close(fd); /* the node sees it and starts a server of its own */
            return 0;
        }
        struct pollfd entry = {.fd = fd, .events = POLLIN};
        if (!keeper_term && poll(&entry, 1, 100) <= 0)
            continue;
        char byte = 0;
        ssize_t n = keeper_term ? 0 : read(fd, &byte, 1);
        if (n < 0 && errno == EINTR)
            continue;
        /* 'S', or the node's end closed (the node died): stop the server. */
        server_stop(pid, argv[2], argv[3]);
        close(fd);
        return 0;
    }
}

int nats_supervisor_adopt(struct nats_supervisor *supervisor, const char *data_dir,
                          const char *url, pid_t pid, int keeper_fd,
                          struct durability durability, char *errmsg, size_t errmsg_size)
{
    memset(supervisor, 0, sizeof *supervisor);
    supervisor->last_exit_status = -1;
    supervisor->durability = durability;
    supervisor->keeper_fd = -1;
    int rv = paths_set(supervisor, data_dir, errmsg, errmsg_size);
    if (rv != 0)
        return rv;
    unsigned port = 0;
    if (sscanf(url, "nats://127.0.0.1:%u", &port) != 1 || port == 0 || port > 65535) {
        snprintf(errmsg, errmsg_size, "the embedded server's URL handed over (%s) is not "
                 "nats://127.0.0.1:PORT", url);
        return ERR_USAGE;
    }
    snprintf(supervisor->server_path, sizeof supervisor->server_path, "%s",
             nats_supervisor_server_path());
    supervisor->port = (uint16_t)port;
    snprintf(supervisor->url, sizeof supervisor->url, "%s", url);
    supervisor->pid = pid;
    supervisor->keeper_fd = keeper_fd;
    supervisor->adopted = true;
    return 0;
}
