/* The old build without `replay` (release 0.1.0): its `serve` on a
 * private copy (rehearse_internal.h). The copy holds the rehearsal's
 * snapshot and a copy of the copied store, so the old node loads that
 * snapshot and applies the same messages from its own embedded
 * nats-server, on free loopback ports; only its final digest, from its
 * /status, can be compared. It is stopped by its pid; its nats-server
 * stops with it (the embedded default's supervisor). */
#include "ops/rehearse_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/admin_http.h"
#include "lib/clock.h"

#define REHEARSE_STOP_TIMEOUT_MS 15000

static uint16_t rehearse_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&address, sizeof address) == 0 &&
        getsockname(fd, (struct sockaddr *)&address, &length) == 0)
        port = ntohs(address.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* node/snapshots/ with the snapshot, node/nats/ with the store's copy. */
static int rehearse_serve_dir(const struct rehearse *rehearse, const char *node)
{
    char path[REHEARSE_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/snapshots", node);
    if (mkdir(node, 0755) != 0 || mkdir(path, 0755) != 0)
        return -1;
    if (rehearse->snapshot[0] != '\0') {
        const char *cp[] = {"/bin/cp", rehearse->snapshot, path, NULL};
        if (rehearse_spawn_wait(cp, NULL, 60000) != 0)
            return -1;
    }
    snprintf(path, sizeof path, "%s/nats", node);
    const char *cp[] = {"/bin/cp", "-a", rehearse->store_dir, path, NULL};
    return rehearse_spawn_wait(cp, NULL, 600000) == 0 ? 0 : -1;
}

static pid_t rehearse_serve_start(const struct rehearse *rehearse, const char *binary,
                                  const char *node, const char *token, uint16_t http_port)
{
    char listen[32], http[32], out[REHEARSE_PATH_MAX + 32];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", rehearse_free_port());
    snprintf(http, sizeof http, "127.0.0.1:%u", http_port);
    snprintf(out, sizeof out, "%s/old-node.log", rehearse->work);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        unsetenv("NODOWN_ADMIN_TOKEN");
        const char *argv[] = {binary, "serve", "--data", node, "--node-id", "1", "--listen",
                              listen, "--http", http, "--token", token, NULL};
        execv(binary, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Polls /status until the node's digest is of the copy's last message. */
static int rehearse_serve_wait(struct rehearse *rehearse, struct rehearse_replay *replay,
                               pid_t pid, uint16_t port, const char *token)
{
    int64_t start_ms = clock_now_ms();
    int status = 0;
    while (clock_now_ms() - start_ms < REHEARSE_SERVE_TIMEOUT_MS) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            snprintf(replay->error, sizeof replay->error,
                     "its serve exited (see %.180s/old-node.log)", rehearse->work);
            return -2; /* reaped */
        }
        char body[8192], text[40] = "";
        if (admin_http_get(port, "/status", token, body, sizeof body) == 0) {
            admin_json_field(body, "digest_seq", text, sizeof text);
            uint64_t digest_seq = strtoull(text, NULL, 10);
            if (digest_seq == rehearse->last_seq) {
                admin_json_field(body, "digest", replay->checkpoint_digests[0], 33);
                replay->checkpoint_seqs[0] = digest_seq;
                replay->checkpoint_count = 1;
                replay->commands_per_s = 0; /* not measured: the node's start is in it */
                replay->last_seq = digest_seq;
                replay->first_seq = rehearse->first_seq;
                replay->messages = rehearse->messages;
                return 0;
            }
        }
        clock_sleep_ms(200);
    }
    snprintf(replay->error, sizeof replay->error,
             "its serve did not show a digest of %" PRIu64 " within %d s", rehearse->last_seq,
             REHEARSE_SERVE_TIMEOUT_MS / 1000);
    return -1;
}

static void rehearse_serve_stop(pid_t pid)
{
    kill(pid, SIGTERM); /* our own child, by its pid */
    int64_t deadline_ms = clock_now_ms() + REHEARSE_STOP_TIMEOUT_MS;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (clock_now_ms() > deadline_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return;
        }
        clock_sleep_ms(50);
    }
}

int rehearse_old_by_serve(struct rehearse *rehearse, struct rehearse_replay *replay)
{
    replay->by_serve = true;
    replay->ok = false;
    if (rehearse->store_dir[0] == '\0' || rehearse->config->until != 0) {
        snprintf(replay->error, sizeof replay->error,
                 "it has no replay, and its serve needs --from DIR (an embedded store), "
                 "without --until");
        return -1;
    }
    char node[REHEARSE_PATH_MAX + 32], token[64];
    snprintf(node, sizeof node, "%s/old-node", rehearse->work);
    snprintf(token, sizeof token, "rehearse-old-node-%ld", (long)getpid());
    rehearse_replay_free(replay);
    replay->checkpoint_seqs = calloc(1, sizeof *replay->checkpoint_seqs);
    replay->checkpoint_digests = calloc(1, sizeof *replay->checkpoint_digests);
    if (replay->checkpoint_seqs == NULL || replay->checkpoint_digests == NULL ||
        rehearse_serve_dir(rehearse, node) != 0) {
        snprintf(replay->error, sizeof replay->error, "cannot make its copy in %.200s", node);
        return -1;
    }
    uint16_t port = rehearse_free_port();
    pid_t pid = rehearse_serve_start(rehearse, replay->binary, node, token, port);
    if (pid < 0) {
        snprintf(replay->error, sizeof replay->error, "fork: %s", strerror(errno));
        return -1;
    }
    int rv = rehearse_serve_wait(rehearse, replay, pid, port, token);
    if (rv != -2)
        rehearse_serve_stop(pid);
    replay->ok = rv == 0;
    return rv == 0 ? 0 : -1;
}
