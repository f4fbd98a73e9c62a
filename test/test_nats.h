/* Starting a nats-server of a test's own, from a configuration the test
 * writes, and opening a journal on it once it is up: the tests that need
 * more than the embedded default's one server (a DR site, a cluster of
 * three) share them. */
#ifndef NODOWN_TEST_NATS_H
#define NODOWN_TEST_NATS_H

#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

#include "lib/clock.h"
#include "replica/journal.h"

/* Writes config_text to DIR/NAME.conf and runs /usr/sbin/nats-server on it,
 * its stderr in DIR/NAME.log. The kernel sends the server SIGTERM if the
 * thread that started it dies, so a test that ends early leaves nothing
 * running. Returns its pid (signal only that one, and reap it), or -1. */
static inline pid_t test_nats_server_start(const char *dir, const char *name,
                                           const char *config_text)
{
    char path[512], log[512];
    if ((size_t)snprintf(path, sizeof path, "%s/%s.conf", dir, name) >= sizeof path ||
        (size_t)snprintf(log, sizeof log, "%s/%s.log", dir, name) >= sizeof log)
        return -1;
    FILE *file = fopen(path, "w");
    if (file == NULL)
        return -1;
    fputs(config_text, file);
    if (fclose(file) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (freopen(log, "w", stderr) == NULL)
            _exit(126);
        execl("/usr/sbin/nats-server", "nats-server", "-c", path, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* journal_open, again every 100 ms while it fails (the servers are still
 * starting, or a cluster has no JetStream leader yet), for at most
 * timeout_ms; the last failure is printed. */
static inline int test_journal_open_retry(struct journal **out,
                                          const struct journal_config *config, int timeout_ms)
{
    char errmsg[512] = "";
    int64_t deadline_ms = clock_now_ms() + timeout_ms;
    int rv;
    while ((rv = journal_open(out, config, errmsg, sizeof errmsg)) != 0 &&
           clock_now_ms() < deadline_ms)
        clock_sleep_ms(100);
    if (rv != 0)
        fprintf(stderr, "  journal_open: %s\n", errmsg);
    return rv;
}

#endif
