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
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/result.h"
#include "lib/clock.h"
#include "replica/journal.h"

#define PROMOTE_QUIET_MS 3000 /* the mirror's source heartbeats every second */

struct promote_options {
    const char *nats;   /* the DR site's servers */
    const char *dir;    /* or a local cluster's directory (cluster up --dr) */
    const char *domain; /* the primary's JetStream domain */
    int replicas;
    int wait_s;
    bool force;
    bool json;
};

static void promote_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown promote (--nats URL,... | --dir DIR) [--domain D] [--replicas N]\n"
            "                      [--wait SECONDS] [--force] [--json]\n"
            "  Makes the disaster-recovery site primary. Its servers (--nats, or the DR\n"
            "  site of the local cluster in DIR) hold NODOWN_DR, a mirror of the\n"
            "  primary's stream NODOWN in JetStream domain D (default primary); it is\n"
            "  copied into the site's own stream NODOWN (--replicas copies, default 1),\n"
            "  at the same sequences, and the site's nodes then take commands.\n"
            "  Prints the last sequence the site holds: what the primary acknowledged\n"
            "  after it is lost. Refused while the mirror still hears from the primary;\n"
            "  it waits up to --wait seconds (default 15) for it to fall silent.\n"
            "  --force promotes a site whose primary is still up: stop the primary's\n"
            "  writers first, since what it stores after the copy is not in the site's\n"
            "  stream. Run again after a failure, it goes on where the copy stopped.\n");
}

static int promote_parse(int argc, char **argv, struct promote_options *options)
{
    *options = (struct promote_options){.domain = "primary", .replicas = 1, .wait_s = 15};
    for (int i = 0; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--force") == 0)
            options->force = true;
        else if (strcmp(argv[i], "--json") == 0)
            options->json = true;
        else if (strcmp(argv[i], "--nats") == 0 && value != NULL)
            options->nats = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && value != NULL)
            options->dir = argv[++i];
        else if (strcmp(argv[i], "--domain") == 0 && value != NULL)
            options->domain = argv[++i];
        else if (strcmp(argv[i], "--replicas") == 0 && value != NULL)
            options->replicas = atoi(argv[++i]);
        else if (strcmp(argv[i], "--wait") == 0 && value != NULL)
            options->wait_s = atoi(argv[++i]);
        else {
            fprintf(stderr, "nodown promote: bad option '%s'\n", argv[i]);
            return -1;
        }
    }
    if ((options->nats == NULL) == (options->dir == NULL)) {
        fprintf(stderr, "nodown promote: give --nats or --dir (one of them)\n");
        return -1;
    }
    if (options->replicas < 1 || options->replicas > 5 || options->wait_s < 0) {
        fprintf(stderr, "nodown promote: --replicas 1..5, --wait 0 or more\n");
        return -1;
    }
    return 0;
}

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

static int promote_run(const struct promote_options *options, const char *urls)
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

int promote_main(int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "--help") == 0) {
        promote_usage(stdout);
        return 0;
    }
    struct promote_options options;
    if (promote_parse(argc, argv, &options) != 0) {
        promote_usage(stderr);
        return 2;
    }
    char urls[64];
    if (options.dir != NULL && cluster_dr_url(options.dir, urls, sizeof urls) != 0) {
        fprintf(stderr, "nodown promote: no DR site in %s (nodown cluster up --dr)\n",
                options.dir);
        return 1;
    }
    return promote_run(&options, options.dir != NULL ? urls : options.nats);
}
