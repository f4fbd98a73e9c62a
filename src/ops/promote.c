/* `nodown promote`: the disaster-recovery site becomes primary.
 *
 * The site's server holds NODOWN_DR, a mirror of the primary's stream
 * (docs/cluster.md). Promotion refuses while the mirror still hears from
 * the primary (two sites taking writes would make two histories), waits a
 * bounded time for it to fall silent, then copies the mirror into the
 * site's own stream NODOWN (journal_promote) and prints the last sequence
 * the site holds: anything the primary acknowledged after it is lost, and
 * the mirror's lag at its last contact says how much that can be. The
 * site's nodes notice the promoted stream within a second and take
 * commands.
 */
#include "ops/promote.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/result.h"
#include "lib/clock.h"
#include "ops/cluster.h"
#include "replica/journal.h"

#define PROMOTE_QUIET_MS 3000 /* the mirror's source heartbeats every second */

static void promote_progress(void *context, uint64_t seq, uint64_t last_seq)
{
    (void)context;
    fprintf(stderr, "nodown promote: copied up to %" PRIu64 " of %" PRIu64 "\n", seq, last_seq);
}

/* Waits until the mirror has heard nothing from the primary for
 * PROMOTE_QUIET_MS (or --force). Returns 0 with its last state, or 1. */
static int promote_wait_quiet(struct journal *journal, const struct promote_options *options,
                              struct journal_stream_info *mirror)
{
    int64_t deadline_ms = clock_now_ms() + (int64_t)options->wait_s * 1000;
    for (;;) {
        if (journal_stream_info(journal, mirror) != 0) {
            fprintf(stderr, "nodown promote: %s\n", journal_error(journal));
            return 1;
        }
        bool quiet = mirror->mirror_active_ms < 0 || mirror->mirror_active_ms >= PROMOTE_QUIET_MS;
        if (quiet || options->force)
            return 0;
        if (clock_now_ms() >= deadline_ms) {
            fprintf(stderr, "nodown promote: the primary still feeds this site's mirror (heard "
                    "from it %" PRId64 " ms ago): nothing done; stop the primary, or pass "
                    "--force once its writers are stopped\n", mirror->mirror_active_ms);
            return 1;
        }
        clock_sleep_ms(250);
    }
}

static int promote_copy(const struct promote_options *options, const char *urls)
{
    char api[128], errmsg[512];
    snprintf(api, sizeof api, "$JS.%.80s.API", options->domain);
    struct journal_config mirror_config = journal_config_mirror(urls, options->replicas, api);
    mirror_config.must_exist = true;
    struct journal_config target = journal_config_stream(urls, options->replicas);
    struct journal *journal = NULL;
    if (journal_open(&journal, &mirror_config, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "nodown promote: %s\n", errmsg);
        return 1;
    }
    struct journal_stream_info mirror;
    int rv = promote_wait_quiet(journal, options, &mirror);
    int64_t start_ms = clock_now_ms();
    struct journal_promotion done;
    if (rv == 0 && journal_promote(journal, &target, promote_progress, NULL, &done) != 0) {
        fprintf(stderr, "nodown promote: %s\n", journal_error(journal));
        rv = 1;
    }
    journal_close(journal);
    if (rv != 0)
        return rv;
    int64_t copy_ms = clock_now_ms() - start_ms;
    if (options->json)
        printf("{\"promoted\":true,\"already\":%s,\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64
               ",\"copied\":%" PRIu64 ",\"copy_ms\":%" PRId64 ",\"mirror_lag_at_last_contact\":%"
               PRIu64 ",\"primary_silent_ms\":%" PRId64 "}\n", done.already ? "true" : "false",
               done.first_seq, done.last_seq, done.copied, copy_ms, mirror.mirror_lag,
               mirror.mirror_active_ms);
    else
        printf("%s: this site's stream NODOWN holds sequences %" PRIu64 "..%" PRIu64
               " (%" PRIu64 " messages copied in %" PRId64 " ms).\nLast sequence held: %" PRIu64
               ". Whatever the primary acknowledged after it is lost; when the mirror last "
               "heard from the primary (%" PRId64 " ms ago) it was %" PRIu64 " messages "
               "behind.\n", done.already ? "already promoted" : "promoted", done.first_seq,
               done.last_seq, done.copied, copy_ms, done.last_seq, mirror.mirror_active_ms,
               mirror.mirror_lag);
    return 0;
}

int promote_run(const struct promote_options *options)
{
    char urls[64];
    if (options->dir != NULL && cluster_dr_url(options->dir, urls, sizeof urls) != 0) {
        fprintf(stderr, "nodown promote: no DR site in %s (nodown cluster up --dr)\n",
                options->dir);
        return 1;
    }
    return promote_copy(options, options->dir != NULL ? urls : options->nats);
}
