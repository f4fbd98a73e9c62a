/* `nodown serve`: one node (src/node/node.h). This file turns the
 * options into a node_config and runs the node. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "gateway/gateway.h"
#include "lib/secret.h"
#include "node/node.h"
#include "replica/nats_supervisor.h"

/* Options of a node handed over, and of the taker, each at most. */
#define SERVE_TAKE_OVER_ARGS_MAX 64

/* The options of the consumers of what a node applies. */
static void serve_usage_consumers(FILE *out)
{
    fprintf(out,
            "  --archive  keep every event, by trading day, in SQLite files under\n"
            "             DIR/history, for `nodown history` (docs/history.md)\n"
            "  --export-pg URL  export orders, trades, bets, balances and accounts to\n"
            "             PostgreSQL, exactly once (docs/export.md)\n"
            "  --export-only  refuse every command: a node that only exports\n"
            "             (what `nodown export` runs)\n");
}

/* The rest of serve_usage: joining, DR, hand-over, secrets. */
static void serve_usage_more(FILE *out)
{
    fprintf(out,
            "  --join PORT:TOKENFILE  a node with no snapshot yet first fetches the\n"
            "             latest one of the peer whose admin interface is on\n"
            "             127.0.0.1:PORT (its token in TOKENFILE), and consumes the\n"
            "             stream from there instead of from the beginning\n"
            "  --feed HOST:PORT  the live WebSocket feed of book depth, trades and odds\n"
            "             (port 0: a free one, /status \"feed_port\"; docs/live.md)\n"
            "  --peers HOST:PORT[@TOKENFILE],...  the other nodes' admin interfaces\n"
            "             (their token in TOKENFILE, else this node's): the operator's\n"
            "             page (GET /ops) shows them beside this one (docs/page.md)\n"
            "  --dr-of DOMAIN  a node of a disaster-recovery site: --nats is the site's\n"
            "             server, whose stream " JOURNAL_STREAM_MIRROR " mirrors the primary's\n"
            "             " JOURNAL_STREAM " in JetStream domain DOMAIN (made if missing);\n"
            "             commands are refused until 'nodown promote' makes the site\n"
            "             primary; the node then follows the site's new " JOURNAL_STREAM "\n"
            "             and takes them\n"
            "  --take-over  replace the node serving DIR on this host, its clients not\n"
            "             waiting: its options but --logic-max (then these), catch up, take\n"
            "             its ports, sessions and embedded NATS server; it serves on if\n"
            "             this fails (docs/upgrades.md, \"Hand-over\")\n"
            "  --min-secret-length N  the shortest new secret this node sets, 1 to 256\n"
            "             bytes (default %u): a shorter $NODOWN_HOUSE_SECRET is refused\n"
            "  $NODOWN_HOUSE_SECRET, on a first start, sets the house's logon secret.\n"
            "  $NODOWN_NATS_SERVER, the nats-server the embedded default runs (default\n"
            "  " NATS_SUPERVISOR_SERVER_PATH "). Every NATS server must be 2.10 or newer.\n",
            SECRET_SIZE_MIN_DEFAULT);
}

static void serve_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown serve --data DIR [--nats URL,...] [--listen HOST:PORT]\n"
            "                    [--http HOST:PORT] [--token TOKEN] [--node-id N]\n"
            "                    [--snapshot-mb N] [--replicas N] [--join PORT:TOKENFILE]\n"
            "                    [--batches-in-flight N] [--durability always|interval:D]\n"
            "                    [--min-secret-length N] [--heartbeat-ms N]\n"
            "                    [--max-connections N] [--max-connections-per-address N]\n"
            "                    [--handshake-timeout-ms N] [--frame-timeout-ms N]\n"
            "                    [--logic-max N] [--archive] [--export-pg URL] [--export-only]\n"
            "                    [--peers HOST:PORT[@TOKENFILE],...] [--feed HOST:PORT]\n"
            "                    [--fix HOST:PORT]\n"
            "       nodown serve --take-over --data DIR [options]\n"
            "  Runs one node. Without --nats it starts and supervises a local\n"
            "  nats-server (JetStream, one replica, loopback, its store in DIR/nats).\n"
            "  --listen   the native client protocol (default 127.0.0.1:7400)\n"
            "  --fix      the FIX 4.4 acceptor on its own port (off by default; port 0:\n"
            "             any free port; docs/fix.md)\n"
            "  --http     the admin interface (default 127.0.0.1:7480); its operator\n"
            "             token is --token, or $NODOWN_ADMIN_TOKEN, or made once and\n"
            "             kept in DIR/admin.token\n"
            "  --node-id  this node's number in a cluster (default 1)\n"
            "  --snapshot-mb  write a snapshot after this much applied log (default 64;\n"
            "             a fraction is fine: 0.25)\n"
            "  --replicas  copies of the stream on a NATS cluster (--nats): 1 to 5,\n"
            "             default 1; every node of a cluster must say the same\n"
            "  --durability  the embedded server's disk sync: always (the default: no\n"
            "             command is acknowledged before it is on disk) or interval:D\n"
            "             (100ms, 1s, 2m: synced that often; a power failure can lose\n"
            "             what was acknowledged since the last sync; docs/journal.md).\n"
            "             With --nats the servers' own configuration decides: refused\n"
            "  --batches-in-flight N  batches this node publishes at once, 1 to %u\n"
            "             (default 1 on the embedded default, %u with --nats): with\n"
            "             several, commands that arrive while one waits for the journal\n"
            "             go out in another\n"
            "  --logic-max N  run logic versions up to N only (default: the build's\n"
            "             highest, %u): the node acts as a build that stops at N + 1\n"
            "             would, and says so in the node registry; for rehearsing a\n"
            "             mixed cluster (docs/upgrades.md)\n"
            "  --max-connections N  client connections at once (default %u, at most\n"
            "             %u; lowered to fit the open-file limit when not given); one\n"
            "             more is closed at once, logged and counted in /metrics\n"
            "  --max-connections-per-address N  client connections from one source\n"
            "             address (default %u)\n"
            "  --handshake-timeout-ms N  a connection not logged on (HELLO and LOGON\n"
            "             answered) this long after it opened is closed (default %d)\n"
            "  --frame-timeout-ms N  a frame not whole this long after its first byte\n"
            "             ends its connection (default %d)\n"
            "  --heartbeat-ms N  a logged-on client silent this long is sent a PING,\n"
            "             and closed if still silent as long again (default %d)\n",
            PUBLISHER_SLOTS_MAX, GATEWAY_BATCHES_IN_FLIGHT, LOGIC_VERSION_MAX,
            GATEWAY_CONNECTIONS_MAX_DEFAULT, GATEWAY_CONNECTIONS_MAX_MOST,
            GATEWAY_CONNECTIONS_PER_ADDRESS_DEFAULT, GATEWAY_HANDSHAKE_TIMEOUT_MS_DEFAULT,
            GATEWAY_FRAME_TIMEOUT_MS_DEFAULT, GATEWAY_HEARTBEAT_MS_DEFAULT);
    serve_usage_more(out);
    serve_usage_consumers(out);
}

static int serve_host_port(const char *text, char *host, size_t host_size, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    char *end = NULL;
    unsigned long value = colon ? strtoul(colon + 1, &end, 10) : 0;
    if (colon == NULL || colon == text || (size_t)(colon - text) >= host_size ||
        end == colon + 1 || *end != '\0' || value > 65535)
        return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    *port = (uint16_t)value;
    return 0;
}

/* What the options mean together. */
static int serve_options_check(const struct node_config *options)
{
    if (options->data_dir == NULL) {
        fprintf(stderr, "nodown serve: --data DIR is required\n");
        return -1;
    }
    if (options->export_only && options->export_pg == NULL) {
        fprintf(stderr, "nodown serve: --export-only needs --export-pg URL\n");
        return -1;
    }
    if (options->dr_of != NULL && options->nats_urls == NULL) {
        fprintf(stderr, "nodown serve: --dr-of needs --nats (the DR site's servers)\n");
        return -1;
    }
    if (options->durability_given && options->nats_urls != NULL) {
        fprintf(stderr, "nodown serve: --durability is for the embedded server; with --nats "
                "it is each server's jetstream sync_interval (nodown cluster up "
                "--durability writes it)\n");
        return -1;
    }
    return 0;
}

/* The live feed's and the FIX acceptor's HOST:PORT: whether name is one
 * of them (*ok says whether its value is good). */
static bool serve_parse_interfaces(const char *name, const char *value,
                                   struct node_config *options, bool *ok)
{
    bool feed = strcmp(name, "--feed") == 0, fix = strcmp(name, "--fix") == 0;
    if (!feed && !fix)
        return false;
    if (*ok && feed)
        *ok = options->feed = serve_host_port(value, options->feed_host,
                                              sizeof options->feed_host,
                                              &options->feed_port) == 0;
    else if (*ok)
        *ok = options->fix_on = serve_host_port(value, options->fix_host,
                                                sizeof options->fix_host,
                                                &options->fix_port) == 0;
    return true;
}

/* The client port's limits and deadlines: whether name is one of them
 * (*ok says whether its value is good). */
static bool serve_parse_connections(const char *name, const char *value,
                                    struct node_config *options, bool *ok)
{
    const char *names[] = {"--max-connections", "--max-connections-per-address",
                           "--handshake-timeout-ms", "--frame-timeout-ms", "--heartbeat-ms"};
    const unsigned long most[] = {GATEWAY_CONNECTIONS_MAX_MOST, GATEWAY_CONNECTIONS_MAX_MOST,
                                  3600000, 3600000, 3600000};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) != 0)
            continue;
        char *end = NULL;
        unsigned long number = *ok ? strtoul(value, &end, 10) : 0;
        *ok = *ok && end != value && *end == '\0' && number >= 1 && number <= most[i];
        uint32_t *counts[] = {&options->connections_max, &options->connections_per_address_max};
        int *times[] = {&options->handshake_timeout_ms, &options->frame_timeout_ms,
                        &options->heartbeat_ms};
        if (i < 2)
            *counts[i] = (uint32_t)number;
        else
            *times[i - 2] = (int)number;
        return true;
    }
    return false;
}

static void serve_options_default(struct node_config *options)
{
    memset(options, 0, sizeof *options);
    snprintf(options->listen_host, sizeof options->listen_host, "127.0.0.1");
    options->listen_port = 7400;
    snprintf(options->http_host, sizeof options->http_host, "127.0.0.1");
    options->http_port = 7480;
    options->node_id = 1;
    options->snapshot_bytes = 64u << 20;
    options->replicas = 1;
    options->batches_in_flight = 0; /* the node decides (node/start.c) */
    options->secret_size_min = SECRET_SIZE_MIN_DEFAULT;
}

static int serve_parse(int argc, char **argv, struct node_config *options)
{
    serve_options_default(options);
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--archive") == 0) { /* the options without a value */
            options->archive = true;
            continue;
        }
        if (strcmp(argv[i], "--export-only") == 0) {
            options->export_only = true;
            continue;
        }
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = value != NULL;
        if (strcmp(argv[i], "--data") == 0 && ok)
            options->data_dir = value;
        else if (strcmp(argv[i], "--nats") == 0 && ok)
            options->nats_urls = value;
        else if (strcmp(argv[i], "--listen") == 0 && ok)
            ok = serve_host_port(value, options->listen_host, sizeof options->listen_host,
                                 &options->listen_port) == 0;
        else if (strcmp(argv[i], "--http") == 0 && ok)
            ok = serve_host_port(value, options->http_host, sizeof options->http_host,
                                 &options->http_port) == 0;
        else if (strcmp(argv[i], "--token") == 0 && ok)
            options->token = value;
        else if (strcmp(argv[i], "--node-id") == 0 && ok)
            options->node_id = (uint32_t)strtoul(value, NULL, 10);
        else if (strcmp(argv[i], "--snapshot-mb") == 0 && ok)
            ok = (options->snapshot_bytes = (uint64_t)(strtod(value, NULL) * (1 << 20))) > 0;
        else if (strcmp(argv[i], "--join") == 0 && ok)
            options->join = value;
        else if (strcmp(argv[i], "--peers") == 0 && ok)
            options->peers = value;
        else if (strcmp(argv[i], "--export-pg") == 0 && ok)
            options->export_pg = value;
        else if (strcmp(argv[i], "--dr-of") == 0 && ok)
            options->dr_of = value;
        else if (strcmp(argv[i], "--durability") == 0 && ok) {
            char errmsg[256];
            ok = durability_parse(value, &options->durability, errmsg, sizeof errmsg) == 0;
            if (!ok)
                fprintf(stderr, "nodown serve: %s\n", errmsg);
            options->durability_given = true;
        } else if (strcmp(argv[i], "--batches-in-flight") == 0 && ok)
            ok = (options->batches_in_flight = (uint32_t)atoi(value)) >= 1 &&
                 options->batches_in_flight <= PUBLISHER_SLOTS_MAX;
        else if (strcmp(argv[i], "--min-secret-length") == 0 && ok)
            ok = (options->secret_size_min = (uint32_t)atoi(value)) >= 1 &&
                 options->secret_size_min <= 256;
        else if (strcmp(argv[i], "--logic-max") == 0 && ok)
            ok = (options->logic_max = (uint32_t)atoi(value)) >= LOGIC_VERSION_MIN;
        else if (strcmp(argv[i], "--replicas") == 0 && ok)
            ok = (options->replicas = atoi(value)) >= 1 && options->replicas <= 5;
        else if (!serve_parse_connections(argv[i], value, options, &ok) &&
                 !serve_parse_interfaces(argv[i], value, options, &ok)) {
            fprintf(stderr, "nodown serve: bad option '%s'%s\n", argv[i],
                    ok ? "" : " (it needs a value)");
            return -1;
        }
        if (!ok) {
            fprintf(stderr, "nodown serve: cannot read %s '%s'\n", argv[i], value);
            return -1;
        }
        i++;
    }
    return serve_options_check(options);
}

/* `serve --take-over --data DIR [options]`: the node serving DIR says
 * how it was started; those options, then these, are this process's. */
static int serve_take_over(int argc, char **argv, struct node_config *config)
{
    const char *dir = NULL;
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], "--data") == 0)
            dir = argv[i + 1];
    if (dir == NULL) {
        fprintf(stderr, "nodown serve --take-over: give --data DIR, the directory of the "
                "node to take over from\n");
        return 2;
    }
    char errmsg[512];
    struct takeover_taker *taker = node_take_over_begin(dir, errmsg, sizeof errmsg);
    if (taker == NULL) {
        fprintf(stderr, "nodown serve --take-over: %s\n", errmsg);
        return 1;
    }
    int old_argc = 0;
    char **old_argv = NULL;
    node_take_over_args(taker, &old_argc, &old_argv);
    static char *args[2 * SERVE_TAKE_OVER_ARGS_MAX];
    int count = 0;
    /* The old node's --logic-max was its own (a test, a rehearsal of a
     * mixed cluster): the new build runs its whole range unless this
     * command line says otherwise. */
    for (int i = 0; i < old_argc && count < SERVE_TAKE_OVER_ARGS_MAX; i++) {
        if (strcmp(old_argv[i], "--logic-max") == 0 && i + 1 < old_argc) {
            i++;
            continue;
        }
        args[count++] = old_argv[i];
    }
    for (int i = 0; i < argc && i < SERVE_TAKE_OVER_ARGS_MAX; i++)
        args[count++] = argv[i];
    if (serve_parse(count, args, config) != 0) {
        fprintf(stderr, "nodown serve --take-over: this build does not take the old node's "
                "options:");
        for (int i = 0; i < count; i++)
            fprintf(stderr, " %s", args[i]);
        fprintf(stderr, "\n");
        return 2;
    }
    if (config->token == NULL)
        config->token = node_take_over_token(taker);
    config->argc = count;
    config->argv = args;
    config->taker = taker;
    return node_run(config);
}

int serve_main(int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "--help") == 0) {
        serve_usage(stdout);
        return 0;
    }
    static struct node_config config;
    if (argc > 0 && strcmp(argv[0], "--take-over") == 0)
        return serve_take_over(argc - 1, argv + 1, &config);
    if (serve_parse(argc, argv, &config) != 0) {
        serve_usage(stderr);
        return 2;
    }
    config.argc = argc;
    config.argv = argv;
    return node_run(&config);
}
