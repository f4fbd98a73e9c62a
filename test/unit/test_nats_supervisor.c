/* Tests of the embedded default's nats-server supervisor
 * (src/replica/nats_supervisor.h), with the real /usr/sbin/nats-server on
 * 127.0.0.1 and its files in a fresh directory under /tmp.
 *
 * Every test runs its body in a function and stops the server after it
 * returns, so a failed CHECK (which returns from the body) never leaves a
 * server behind; an atexit handler stops whatever still runs if the
 * binary exits early, and the kernel sends the child SIGTERM if the test
 * process dies (PR_SET_PDEATHSIG). Only pids taken from the supervisor
 * struct are ever signalled.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/result.h"
#include "replica/nats_supervisor.h"
#include "test.h"
#include "test_net.h"
#include "test_dir.h"

/* ---- Helpers. ---- */

static struct nats_supervisor supervisor;
static struct nats_supervisor previous; /* a previous run's server */
static char test_dir[256];

/* Stops the server if it runs and removes the test directory. */
static void cleanup(void)
{
    nats_supervisor_stop(&previous);
    nats_supervisor_stop(&supervisor);
    if (test_dir[0] != '\0')
        test_dir_remove(test_dir);
    test_dir[0] = '\0';
}

static bool dir_make_temp(void)
{
    snprintf(test_dir, sizeof test_dir, "/tmp/nodown-test-nats-XXXXXX");
    if (mkdtemp(test_dir) == NULL) {
        test_dir[0] = '\0';
        return false;
    }
    return true;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Connects to 127.0.0.1:port and reads the first line the server sends
 * into line ("" if the connection is refused). */
static void server_line(uint16_t port, char *line, size_t line_size)
{
    line[0] = '\0';
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&address, sizeof address) == 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 2000) == 1) {
            ssize_t n = read(fd, line, line_size - 1);
            line[n > 0 ? n : 0] = '\0';
        }
    }
    if (fd >= 0)
        close(fd);
}

static bool process_exists(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld", (long)pid);
    struct stat st;
    return stat(path, &st) == 0;
}

static bool file_contains(const char *path, const char *text)
{
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return false;
    char content[4096];
    size_t size = fread(content, 1, sizeof content - 1, file);
    fclose(file);
    content[size] = '\0';
    return strstr(content, text) != NULL;
}

static bool path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static bool start(uint16_t port)
{
    char errmsg[512];
    if (!dir_make_temp())
        return false;
    int rv = nats_supervisor_start(&supervisor, test_dir, port, (struct durability){0},
                                   errmsg, sizeof errmsg);
    if (rv != 0)
        fprintf(stderr, "  nats_supervisor_start: %s\n", errmsg);
    return rv == 0;
}

/* ---- Start, files, stop. ---- */

static void start_and_stop_body(void)
{
    CHECK(start(0));
    CHECK(supervisor.pid > 0);
    CHECK(supervisor.port != 0);
    char expected[512];
    snprintf(expected, sizeof expected, "nats://127.0.0.1:%u", (unsigned)supervisor.port);
    CHECK_STR(supervisor.url, expected);
    CHECK_EQ_I64(supervisor.restart_count, 0);
    CHECK_EQ_I64(supervisor.last_exit_status, -1);

    snprintf(expected, sizeof expected, "%s/nats/nats.conf", test_dir);
    CHECK_STR(supervisor.config_path, expected);
    snprintf(expected, sizeof expected, "listen: \"127.0.0.1:%u\"", (unsigned)supervisor.port);
    CHECK(file_contains(supervisor.config_path, expected));
    snprintf(expected, sizeof expected, "store_dir: \"%s/nats\"", test_dir);
    CHECK(file_contains(supervisor.config_path, expected));
    CHECK(file_contains(supervisor.config_path, "max_file_store: 1TB"));
    CHECK(file_contains(supervisor.config_path, "max_memory_store: 64MB"));
    CHECK(!file_contains(supervisor.config_path, "http"));
    CHECK(!file_contains(supervisor.config_path, "cluster"));
    snprintf(expected, sizeof expected, "%s/nats/jetstream", test_dir);
    CHECK(path_exists(expected));
    CHECK(file_contains(supervisor.log_path, "Server is ready"));
    snprintf(expected, sizeof expected, "%ld\n", (long)supervisor.pid);
    CHECK(file_contains(supervisor.pid_path, expected));

    char line[4096];
    server_line(supervisor.port, line, sizeof line);
    CHECK(strncmp(line, "INFO ", 5) == 0);
    CHECK(strstr(line, "\"jetstream\":true") != NULL);
    CHECK_EQ_I64(nats_supervisor_poll(&supervisor), 0);
    CHECK_EQ_I64(supervisor.restart_count, 0);

    pid_t pid = supervisor.pid;
    uint16_t port = supervisor.port;
    nats_supervisor_stop(&supervisor);
    CHECK_EQ_I64(supervisor.pid, 0);
    CHECK(!process_exists(pid));
    CHECK(!path_exists(supervisor.pid_path));
    server_line(port, line, sizeof line);
    CHECK_STR(line, "");
    nats_supervisor_stop(&supervisor); /* twice is fine */
    CHECK_EQ_I64(supervisor.pid, 0);
}

TEST(start_and_stop)
{
    start_and_stop_body();
    cleanup();
}

static void start_on_given_port_body(void)
{
    uint16_t port = test_free_port();
    CHECK(port != 0);
    CHECK(start(port));
    CHECK_EQ_I64(supervisor.port, port);
    char expected[64];
    snprintf(expected, sizeof expected, "nats://127.0.0.1:%u", (unsigned)port);
    CHECK_STR(supervisor.url, expected);
    char line[4096];
    server_line(port, line, sizeof line);
    CHECK(strncmp(line, "INFO ", 5) == 0);

    /* Stop, then start again on the same directory and port. */
    nats_supervisor_stop(&supervisor);
    char errmsg[512];
    CHECK_EQ_I64(nats_supervisor_start(&supervisor, test_dir, port, (struct durability){0},
                                       errmsg, sizeof errmsg), 0);
    CHECK(supervisor.pid > 0);
    server_line(port, line, sizeof line);
    CHECK(strncmp(line, "INFO ", 5) == 0);
}

TEST(start_on_given_port)
{
    start_on_given_port_body();
    cleanup();
}

/* ---- kill -9 and restart. ---- */

static void kill_and_restart_body(void)
{
    CHECK(start(0));
    pid_t first = supervisor.pid;
    uint16_t port = supervisor.port;
    CHECK(first > 0);
    CHECK_EQ_I64(kill(first, SIGKILL), 0);
    for (int i = 0; i < 500 && supervisor.restart_count == 0; i++) {
        CHECK_EQ_I64(nats_supervisor_poll(&supervisor), 0);
        if (supervisor.restart_count == 0)
            sleep_ms(10);
    }
    CHECK_EQ_I64(supervisor.restart_count, 1);
    CHECK(WIFSIGNALED(supervisor.last_exit_status));
    CHECK_EQ_I64(WTERMSIG(supervisor.last_exit_status), SIGKILL);
    CHECK(supervisor.pid > 0);
    CHECK(supervisor.pid != first);
    CHECK_EQ_I64(supervisor.port, port);
    CHECK_STR(supervisor.last_error, "");
    char line[4096];
    server_line(port, line, sizeof line);
    CHECK(strstr(line, "\"jetstream\":true") != NULL);
    char expected[64];
    snprintf(expected, sizeof expected, "%ld\n", (long)supervisor.pid);
    CHECK(file_contains(supervisor.pid_path, expected));

    /* A server that exits by itself (SIGTERM from someone else) too. */
    pid_t second = supervisor.pid;
    CHECK_EQ_I64(kill(second, SIGTERM), 0);
    for (int i = 0; i < 500 && supervisor.restart_count == 1; i++) {
        CHECK_EQ_I64(nats_supervisor_poll(&supervisor), 0);
        if (supervisor.restart_count == 1)
            sleep_ms(10);
    }
    CHECK_EQ_I64(supervisor.restart_count, 2);
    CHECK(WIFEXITED(supervisor.last_exit_status) || WIFSIGNALED(supervisor.last_exit_status));
    CHECK(supervisor.pid > 0 && supervisor.pid != second);
    server_line(port, line, sizeof line);
    CHECK(strncmp(line, "INFO ", 5) == 0);
}

TEST(kill_and_restart)
{
    kill_and_restart_body();
    cleanup();
}

/* ---- A previous server still on the directory. ---- */

static void *previous_stop_later(void *arg)
{
    (void)arg;
    sleep_ms(300);
    nats_supervisor_stop(&previous);
    return NULL;
}

/* The previous run's server (in real life, one whose node died and that
 * got SIGTERM from the kernel) still shuts down: a new start on the same
 * directory waits for it instead of running a second server on the store. */
static void previous_server_body(void)
{
    CHECK(dir_make_temp());
    char errmsg[512];
    CHECK_EQ_I64(nats_supervisor_start(&previous, test_dir, 0, (struct durability){0},
                                       errmsg, sizeof errmsg), 0);
    pid_t previous_pid = previous.pid;
    pthread_t thread;
    CHECK_EQ_I64(pthread_create(&thread, NULL, previous_stop_later, NULL), 0);
    struct timespec before, after;
    clock_gettime(CLOCK_MONOTONIC, &before);
    int rv = nats_supervisor_start(&supervisor, test_dir, 0, (struct durability){0},
                                   errmsg, sizeof errmsg);
    clock_gettime(CLOCK_MONOTONIC, &after);
    pthread_join(thread, NULL);
    CHECK_EQ_I64(rv, 0);
    int64_t waited_ms = (after.tv_sec - before.tv_sec) * 1000 +
                        (after.tv_nsec - before.tv_nsec) / 1000000;
    CHECK(waited_ms >= 250);
    CHECK(!process_exists(previous_pid));
    CHECK(supervisor.pid > 0 && supervisor.pid != previous_pid);
    char line[4096];
    server_line(supervisor.port, line, sizeof line);
    CHECK(strstr(line, "\"jetstream\":true") != NULL);
}

TEST(previous_server_waited_for)
{
    previous_server_body();
    cleanup();
}

/* ---- Failures. ---- */

static void port_taken_body(int *listener)
{
    /* A listener of ours holds the port: nats-server cannot bind it. */
    *listener = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(*listener >= 0);
    struct sockaddr_in address = {.sin_family = AF_INET};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    CHECK_EQ_I64(bind(*listener, (struct sockaddr *)&address, sizeof address), 0);
    CHECK_EQ_I64(listen(*listener, 1), 0);
    CHECK_EQ_I64(getsockname(*listener, (struct sockaddr *)&address, &size), 0);
    CHECK(dir_make_temp());
    char errmsg[512];
    int rv = nats_supervisor_start(&supervisor, test_dir, ntohs(address.sin_port),
                                   (struct durability){0}, errmsg,
                                   sizeof errmsg);
    CHECK_EQ_I64(rv, ERR_IO);
    CHECK(strstr(errmsg, "nats-server exited while starting (exit status 1)") != NULL);
    CHECK_EQ_I64(supervisor.pid, 0);
}

TEST(port_taken)
{
    int listener = -1;
    port_taken_body(&listener);
    if (listener >= 0)
        close(listener);
    cleanup();
}

static void bad_data_dir_body(void)
{
    char errmsg[512];
    CHECK_EQ_I64(nats_supervisor_start(&supervisor, "/tmp/a\"b", 0, (struct durability){0},
                                       errmsg, sizeof errmsg),
                 ERR_USAGE);
    CHECK(strstr(errmsg, "quote") != NULL);
    CHECK_EQ_I64(supervisor.pid, 0);
    CHECK_EQ_I64(nats_supervisor_start(&supervisor, "", 0, (struct durability){0},
                                       errmsg, sizeof errmsg), ERR_USAGE);
    char long_dir[1100];
    memset(long_dir, 'a', sizeof long_dir - 1);
    long_dir[0] = '/';
    long_dir[sizeof long_dir - 1] = '\0';
    CHECK_EQ_I64(nats_supervisor_start(&supervisor, long_dir, 0, (struct durability){0},
                                       errmsg, sizeof errmsg),
                 ERR_USAGE);
    CHECK(strstr(errmsg, "too long") != NULL);
    CHECK_EQ_I64(supervisor.pid, 0);
}

TEST(bad_data_dir)
{
    bad_data_dir_body();
    cleanup();
}

/* A script standing in for nats-server (NODOWN_NATS_SERVER): it prints
 * `version` for --version, and would exit at once if run as a server. */
static bool fake_server_write(const char *path, const char *version)
{
    FILE *file = fopen(path, "w");
    if (file == NULL)
        return false;
    fprintf(file, "#!/bin/sh\necho \"nats-server: %s\"\n", version);
    return fclose(file) == 0 && chmod(path, 0755) == 0;
}

static void old_server_refused_body(void)
{
    CHECK(dir_make_temp());
    char path[512], errmsg[512];
    snprintf(path, sizeof path, "%s/nats-server-2.9", test_dir);
    CHECK(fake_server_write(path, "v2.9.10"));
    CHECK_EQ_I64(setenv(NATS_SUPERVISOR_SERVER_ENV, path, 1), 0);
    int rv = nats_supervisor_start(&supervisor, test_dir, 0, (struct durability){0},
                                   errmsg, sizeof errmsg);
    unsetenv(NATS_SUPERVISOR_SERVER_ENV);
    CHECK_EQ_I64(rv, ERR_VERSION);
    CHECK_EQ_I64(supervisor.pid, 0);
    CHECK(strstr(errmsg, path) != NULL);
    CHECK(strstr(errmsg, "version 2.9.10, older than 2.10.0") != NULL);
    CHECK(strstr(errmsg, "tools/deps.sh") != NULL);
    snprintf(path, sizeof path, "%s/nats/nats.conf", test_dir);
    CHECK(!path_exists(path)); /* refused before anything was written */

    /* One that prints no version, and one that cannot be run. */
    snprintf(path, sizeof path, "%s/not-nats", test_dir);
    CHECK(fake_server_write(path, "hello"));
    CHECK_EQ_I64(nats_supervisor_version_check(path, errmsg, sizeof errmsg), ERR_VERSION);
    CHECK(strstr(errmsg, "cannot read the version") != NULL);
    snprintf(path, sizeof path, "%s/missing", test_dir);
    CHECK_EQ_I64(nats_supervisor_version_check(path, errmsg, sizeof errmsg), ERR_IO);
    CHECK(strstr(errmsg, "tools/deps.sh") != NULL);
    /* The real one is new enough. */
    CHECK_EQ_I64(nats_supervisor_version_check(NATS_SUPERVISOR_SERVER_PATH, errmsg,
                                               sizeof errmsg), 0);
}

TEST(old_server_refused)
{
    old_server_refused_body();
    cleanup();
}

static void on_exit_cleanup(void)
{
    cleanup();
}

/* Registered first (constructor), so it runs last of all at exit. */
__attribute__((constructor)) static void register_cleanup(void)
{
    atexit(on_exit_cleanup);
}

/* ---- What the server is started with. ---- */

/* The first line of file holding needle, or "" (the whole file read). */
static void file_find(const char *path, const char *needle, char *found, size_t size)
{
    found[0] = '\0';
    FILE *file = fopen(path, "r");
    char line[512];
    while (file != NULL && fgets(line, sizeof line, file) != NULL) {
        if (strstr(line, needle) != NULL && found[0] == '\0')
            snprintf(found, size, "%s", line);
    }
    if (file != NULL)
        fclose(file);
}

/* GOMAXPROCS=N in a process's environment, or 0. */
static long child_gomaxprocs(pid_t pid)
{
    char path[64], environment[65536];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    FILE *file = fopen(path, "r");
    size_t size = file != NULL ? fread(environment, 1, sizeof environment - 1, file) : 0;
    if (file != NULL)
        fclose(file);
    environment[size] = '\0';
    for (size_t at = 0; at < size; at += strlen(environment + at) + 1) {
        if (strncmp(environment + at, "GOMAXPROCS=", 11) == 0)
            return strtol(environment + at + 11, NULL, 10);
    }
    return 0;
}

static void started_with_body(void)
{
    char errmsg[512], line[512];
    /* The default: each write synced before its acknowledgement. */
    CHECK(start(0));
    file_find(supervisor.config_path, "sync_interval", line, sizeof line);
    CHECK_STR(line, "    sync_interval: always\n");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK_EQ_I64(child_gomaxprocs(supervisor.pid), cores >= 4 ? cores / 2 : 1);
    nats_supervisor_stop(&supervisor);
    /* An interval, and a GOMAXPROCS of the node's own passed on as it is. */
    CHECK_EQ_I64(setenv("GOMAXPROCS", "3", 1), 0);
    CHECK_EQ_I64(nats_supervisor_start(&supervisor, test_dir, 0,
                                       (struct durability){.interval_ms = 1500}, errmsg,
                                       sizeof errmsg), 0);
    unsetenv("GOMAXPROCS");
    file_find(supervisor.config_path, "sync_interval", line, sizeof line);
    CHECK_STR(line, "    sync_interval: \"1500ms\"\n");
    CHECK_EQ_I64(child_gomaxprocs(supervisor.pid), 3);
}

TEST(started_with_sync_interval_and_gomaxprocs)
{
    started_with_body();
    cleanup();
}

TEST_MAIN()
