/* The rehearsal's replays (rehearse_internal.h): each one a child process
 * of the binary under test, `BINARY replay ... --json` with its output in
 * a file of the work directory, read back here. A build without `replay`
 * (release 0.1.0) is run as a node instead: its `serve` on a private
 * copy of the data directory and of the stream's store, on free loopback
 * ports, until its /status shows the copy's last sequence and a digest
 * of it. Only processes started here are signalled, by their pids. */
#include "ops/rehearse_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/admin_http.h"
#include "lib/clock.h"

#define REHEARSE_ARGS_MAX 32u

/* Runs argv[0] with argv, stdout into out_path (or /dev/null), stderr
 * appended to out_path's ".err" (or inherited); waits up to timeout_ms,
 * then kills it. Returns its exit status, or -1. */
int rehearse_spawn_wait(const char *const *argv, const char *out_path, int timeout_ms)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int out = open(out_path != NULL ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC,
                       0644);
        char err_path[REHEARSE_PATH_MAX + 80];
        snprintf(err_path, sizeof err_path, "%s.err", out_path != NULL ? out_path : "/dev/null");
        int err = open(out_path != NULL ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND,
                       0644);
        if (out >= 0)
            dup2(out, 1);
        if (err >= 0)
            dup2(err, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int64_t deadline_ms = clock_now_ms() + timeout_ms;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (clock_now_ms() > deadline_ms) {
            kill(pid, SIGKILL); /* our own child, by its pid */
            waitpid(pid, &status, 0);
            return -1;
        }
        clock_sleep_ms(10);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool rehearse_has_replay(const char *binary)
{
    const char *argv[] = {binary, "replay", "--help", NULL};
    return rehearse_spawn_wait(argv, NULL, 10000) == 0;
}

static char *rehearse_read_text(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return NULL;
    size_t capacity = 1 << 16, length = 0;
    char *text = malloc(capacity);
    size_t got = 0;
    while (text != NULL && (got = fread(text + length, 1, capacity - length - 1, file)) > 0) {
        length += got;
        if (capacity - length - 1 == 0) {
            char *bigger = realloc(text, capacity * 2);
            if (bigger == NULL) {
                free(text);
                text = NULL;
                break;
            }
            text = bigger;
            capacity *= 2;
        }
    }
    fclose(file);
    if (text != NULL)
        text[length] = '\0';
    return text;
}

static uint64_t rehearse_field_u64(const char *json, const char *key)
{
    char value[32] = "";
    admin_json_field(json, key, value, sizeof value);
    return strtoull(value, NULL, 10);
}

/* The checkpoint lines: {"seq":S,"digest":"D"}, one per line. */
static int rehearse_parse_checkpoints(struct rehearse_replay *replay, const char *text)
{
    uint32_t count = 0;
    for (const char *line = text; (line = strstr(line, "\n{\"seq\":")) != NULL; line++)
        count++;
    replay->checkpoint_seqs = calloc(count + 1, sizeof *replay->checkpoint_seqs);
    replay->checkpoint_digests = calloc(count + 1, sizeof *replay->checkpoint_digests);
    if (replay->checkpoint_seqs == NULL || replay->checkpoint_digests == NULL)
        return -1;
    replay->checkpoint_count = 0;
    for (const char *line = text; (line = strstr(line, "\n{\"seq\":")) != NULL; line++) {
        uint32_t i = replay->checkpoint_count;
        if (i < count && sscanf(line, "\n{\"seq\":%" SCNu64 ",\"digest\":\"%32[0-9a-f]\"",
                                &replay->checkpoint_seqs[i], replay->checkpoint_digests[i]) == 2)
            replay->checkpoint_count++;
    }
    return 0;
}

static int rehearse_parse(struct rehearse_replay *replay, const char *path)
{
    char *text = rehearse_read_text(path);
    if (text == NULL || strstr(text, "\"replay\":") == NULL) {
        free(text);
        return -1;
    }
    admin_json_field(text, "release", replay->release, sizeof replay->release);
    replay->first_seq = rehearse_field_u64(text, "first_seq");
    replay->last_seq = rehearse_field_u64(text, "last_seq");
    replay->messages = rehearse_field_u64(text, "messages");
    replay->commands = rehearse_field_u64(text, "commands");
    replay->stopped_seq = rehearse_field_u64(text, "stopped_seq");
    replay->logic_start = (uint32_t)rehearse_field_u64(text, "logic_start");
    replay->logic_end = (uint32_t)rehearse_field_u64(text, "logic_end");
    char value[32] = "";
    admin_json_field(text, "commands_per_s", value, sizeof value);
    replay->commands_per_s = strtod(value, NULL);
    const char *activation = strstr(text, "\"activation\":");
    if (activation != NULL) {
        replay->activation_version = (uint32_t)rehearse_field_u64(activation, "version");
        replay->activation_seq = rehearse_field_u64(activation, "seq");
        admin_json_field(activation, "result", replay->activation_result,
                         sizeof replay->activation_result);
        admin_json_field(activation, "migration_us", value, sizeof value);
        replay->migration_us = strtod(value, NULL);
    }
    int rv = rehearse_parse_checkpoints(replay, text);
    free(text);
    return rv;
}

void rehearse_replay_free(struct rehearse_replay *replay)
{
    free(replay->checkpoint_seqs);
    free(replay->checkpoint_digests);
    replay->checkpoint_seqs = NULL;
    replay->checkpoint_digests = NULL;
    replay->checkpoint_count = 0;
}

/* Runs `BINARY replay` on the rehearsal's snapshot and stream with the
 * extra options, writing outcomes there when not NULL; fills replay. */
int rehearse_replay_run(struct rehearse *rehearse, struct rehearse_replay *replay,
                        const char *const *extra, const char *outcomes)
{
    const char *argv[REHEARSE_ARGS_MAX];
    uint32_t argc = 0;
    char every[24], out[REHEARSE_PATH_MAX + 64];
    snprintf(every, sizeof every, "%" PRIu64, rehearse->config->checkpoint_every);
    argv[argc++] = replay->binary;
    argv[argc++] = "replay";
    argv[argc++] = "--json";
    argv[argc++] = "--snapshot";
    argv[argc++] = rehearse->snapshot[0] != '\0' ? rehearse->snapshot : "none";
    argv[argc++] = "--stream";
    argv[argc++] = rehearse->stream;
    argv[argc++] = "--checkpoint-every";
    argv[argc++] = every;
    if (outcomes != NULL) {
        argv[argc++] = "--outcomes";
        argv[argc++] = outcomes;
    }
    for (uint32_t i = 0; extra != NULL && extra[i] != NULL && argc + 1 < REHEARSE_ARGS_MAX; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    snprintf(out, sizeof out, "%s/replay-%s.json", rehearse->work, replay->name);
    rehearse_replay_free(replay);
    int status = rehearse_spawn_wait(argv, out, REHEARSE_REPLAY_TIMEOUT_MS);
    if (status != 0 || rehearse_parse(replay, out) != 0) {
        char err_path[REHEARSE_PATH_MAX + 80];
        snprintf(err_path, sizeof err_path, "%s.err", out);
        char *text = rehearse_read_text(err_path);
        snprintf(replay->error, sizeof replay->error, "replay failed (exit %d): %.200s", status,
                 text != NULL ? text : "");
        replay->error[strcspn(replay->error, "\n")] = '\0';
        free(text);
        replay->ok = false;
        return -1;
    }
    replay->ok = true;
    return 0;
}
