/* `nodown serve`: one node. Without --nats it starts and supervises a
 * local nats-server (the embedded default); with --nats it joins that NATS
 * cluster and never starts one. Then it follows the stream into its
 * replica, serves clients through the gateway, writes snapshots every
 * --snapshot-mb of applied log, and answers the HTTP admin interface, until
 * SIGINT or SIGTERM stops it cleanly.
 *
 *   start: [supervisor] -> journal -> replica (newest snapshot) -> gateway
 *          -> admin; then the loop: gateway_step, and every 100 ms the
 *          supervisor's health, status and metrics, snapshots.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/admin_http.h"
#include "cli/cli.h"
#include "codec/frame.h"
#include "core/snapshot.h"
#include "gateway/gateway.h"
#include "gateway/http_admin.h"
#include "gateway/metrics.h"
#include "lib/clock.h"
#include "lib/dir_lock.h"
#include "lib/secret.h"
#include "replica/nats_supervisor.h"
#include "replica/node_registry.h"
#include "replica/versions.h"

#define SERVE_STATUS_SIZE 4096u
#define SERVE_JOURNAL_WAIT_MS 60000u /* a cluster's stream may take this long to answer */
#define SERVE_PROMOTED_CHECK_MS 1000u /* how often a DR node looks for the promotion */
#define SERVE_AUDIT_RETRY_MS 2000u
#define SERVE_REGISTRY_RETRY_MS 1000u /* a failed node registry announce, tried again */
/* Files a node holds besides its client connections: libnats' and the
 * supervisor's, snapshots, logs, and the admin interface's connections
 * (HTTP_ADMIN_CONNECTION_LIMIT_DEFAULT at most). */
#define SERVE_FILES_RESERVE (256u + HTTP_ADMIN_CONNECTION_LIMIT_DEFAULT)

struct serve_options {
    const char *data_dir;
    const char *nats_urls;   /* NULL: the embedded default */
    char listen_host[64];
    uint16_t listen_port;
    char http_host[64];
    uint16_t http_port;
    const char *token;
    uint32_t node_id;
    uint64_t snapshot_bytes; /* snapshot after this much applied log */
    int replicas;            /* the stream's, when this node creates it */
    const char *join;        /* PORT:TOKENFILE of a peer's admin, or NULL */
    const char *dr_of;       /* the primary's JetStream domain: a DR site's node */
    uint32_t batches_in_flight; /* batches published at once */
    uint32_t logic_max;         /* --logic-max, or 0: the build's LOGIC_VERSION_MAX */
    struct durability durability; /* the embedded server's disk sync */
    bool durability_given;
    uint32_t secret_size_min; /* a new secret this node sets: at least this long */
    /* The client port's limits and deadlines (gateway.h); 0: the default. */
    uint32_t connections_max;
    uint32_t connections_per_address_max;
    int handshake_timeout_ms;
    int frame_timeout_ms;
    int heartbeat_ms;
};

struct serve {
    struct serve_options options;
    struct dir_lock lock; /* of options.data_dir, held for the node's life */
    struct nats_supervisor nats;
    bool embedded;
    struct journal *journal;
    struct replica replica;
    struct gateway *gateway;
    struct http_admin *admin;
    struct node_metrics metrics;
    struct http_admin_text status;
    char status_buffer[SERVE_STATUS_SIZE];
    pthread_mutex_t snapshot_mutex; /* the admin thread reads the newest file */
    char snapshot_path[REPLICA_PATH_MAX + 64];
    uint64_t snapshot_seq;
    char token[80];
    /* The state's digest, as of digest_seq (see serve_digest). */
    char digest_text[33];
    uint64_t digest_seq;
    bool digest_done;
    uint64_t chores_seq; /* applied_seq at the previous chores */
    uint64_t joined_ms;  /* when a --join snapshot came, or 0 */
    bool dr_waiting;     /* following the DR site's mirror until it is promoted */
    char dr_api[96];     /* "$JS.<dr_of>.API" */
    /* The journal audit (replica/audit.h): run when the stream's leader
     * changes; a difference stops the node (fatal). */
    struct journal_config journal_config; /* the stream followed */
    struct audit audit;
    struct node_registry *registry; /* or NULL: none (a DR site, or it failed) */
    char registry_error[256];       /* why there is none, with --nats */
    int registry_replicas;          /* 0: no registry wanted (a DR site's node) */
    uint64_t registry_retry_ms;     /* a failed announce is tried again then */
    uint32_t registry_tries;        /* failed announces since the last success */
    char stream_leader[64];
    char audit_last[160]; /* the last audit's outcome, for /status */
    uint64_t audit_retry_ms; /* an incomplete audit is tried again then (0: none) */
    uint32_t audit_retries;
    char fatal[512];
    /* Why this node stopped applying (a logic version its build cannot
     * run, replica.stopped_seq), or "": it keeps serving queries. */
    char stopped[512];
    /* /verify?at=SEQ (serve_verify_cb, serve_verify_step), under lock. */
    struct {
        pthread_mutex_t lock;
        uint64_t requested;  /* the sequence asked for, 0: none */
        uint64_t applied;    /* the loop's applied_seq, for the HTTP thread */
        uint64_t done_at;    /* the last sequence verified, 0: none */
        char digest[33];
        char check[160];     /* "ok", or the first invariant broken */
    } verify;
};

/* The monotonic clock in the unsigned milliseconds serve counts in. */
static uint64_t serve_now_ms(void)
{
    return (uint64_t)clock_now_ms();
}

static volatile sig_atomic_t serve_stopping;

static void serve_on_signal(int signal_number)
{
    (void)signal_number;
    serve_stopping = 1;
}

static void serve_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown serve --data DIR [--nats URL,...] [--listen HOST:PORT]\n"
            "                    [--http HOST:PORT] [--token TOKEN] [--node-id N]\n"
            "                    [--snapshot-mb N] [--replicas N] [--join PORT:TOKENFILE]\n"
            "                    [--batches-in-flight N] [--durability always|interval:D]\n"
            "                    [--min-secret-length N]\n"
            "                    [--max-connections N] [--max-connections-per-address N]\n"
            "                    [--handshake-timeout-ms N] [--frame-timeout-ms N]\n"
            "                    [--heartbeat-ms N]\n"
            "                    [--logic-max N]\n"
            "  Runs one node. Without --nats it starts and supervises a local\n"
            "  nats-server (JetStream, one replica, loopback, its store in DIR/nats).\n"
            "  --listen   the native client protocol (default 127.0.0.1:7400)\n"
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
            "             and closed if still silent as long again (default %d)\n"
            "  --join PORT:TOKENFILE  a node with no snapshot yet first fetches the\n"
            "             latest one of the peer whose admin interface is on\n"
            "             127.0.0.1:PORT (its token in TOKENFILE), and consumes the\n"
            "             stream from there instead of from the beginning\n"
            "  --dr-of DOMAIN  a node of a disaster-recovery site: --nats is the site's\n"
            "             server, whose stream " JOURNAL_STREAM_MIRROR " mirrors the primary's\n"
            "             " JOURNAL_STREAM " in JetStream domain DOMAIN (made if missing);\n"
            "             commands are refused until 'nodown promote' makes the site\n"
            "             primary; the node then follows the site's new " JOURNAL_STREAM "\n"
            "             and takes them\n"
            "  --min-secret-length N  the shortest new secret this node sets, 1 to 256\n"
            "             bytes (default %u): a shorter $NODOWN_HOUSE_SECRET is refused\n"
            "  $NODOWN_HOUSE_SECRET, on a first start, sets the house's logon secret.\n"
            "  $NODOWN_NATS_SERVER, the nats-server the embedded default runs (default\n"
            "  " NATS_SUPERVISOR_SERVER_PATH "). Every NATS server must be 2.10 or newer.\n",
            PUBLISHER_SLOTS_MAX, GATEWAY_BATCHES_IN_FLIGHT, LOGIC_VERSION_MAX,
            GATEWAY_CONNECTIONS_MAX_DEFAULT, GATEWAY_CONNECTIONS_MAX_MOST,
            GATEWAY_CONNECTIONS_PER_ADDRESS_DEFAULT, GATEWAY_HANDSHAKE_TIMEOUT_MS_DEFAULT,
            GATEWAY_FRAME_TIMEOUT_MS_DEFAULT, GATEWAY_HEARTBEAT_MS_DEFAULT,
            SECRET_SIZE_MIN_DEFAULT);
}

/* --batches-in-flight, or its default: one batch at a time on the
 * embedded default, where nats-server writes and syncs each stream
 * message in turn, so a second batch in flight only waits behind the
 * first as a smaller batch (more syncs for the same commands: bench node,
 * docs/journal.md); GATEWAY_BATCHES_IN_FLIGHT on a cluster (--nats), whose
 * leader replicates the batches in flight together. */
static uint32_t serve_batches_in_flight(const struct serve_options *options)
{
    if (options->batches_in_flight != 0)
        return options->batches_in_flight;
    return options->nats_urls == NULL ? 1 : GATEWAY_BATCHES_IN_FLIGHT;
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
static int serve_options_check(const struct serve_options *options)
{
    if (options->data_dir == NULL) {
        fprintf(stderr, "nodown serve: --data DIR is required\n");
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

/* The client port's limits and deadlines: whether name is one of them
 * (*ok says whether its value is good). */
static bool serve_parse_connections(const char *name, const char *value,
                                    struct serve_options *options, bool *ok)
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

static void serve_options_default(struct serve_options *options)
{
    memset(options, 0, sizeof *options);
    snprintf(options->listen_host, sizeof options->listen_host, "127.0.0.1");
    options->listen_port = 7400;
    snprintf(options->http_host, sizeof options->http_host, "127.0.0.1");
    options->http_port = 7480;
    options->node_id = 1;
    options->snapshot_bytes = 64u << 20;
    options->replicas = 1;
    options->batches_in_flight = 0; /* serve_batches_in_flight decides */
    options->secret_size_min = SECRET_SIZE_MIN_DEFAULT;
}

static int serve_parse(int argc, char **argv, struct serve_options *options)
{
    serve_options_default(options);
    for (int i = 0; i < argc; i++) {
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
        else if (!serve_parse_connections(argv[i], value, options, &ok)) {
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

/* Raises the open-file limit to its hard limit and checks that the
 * client port's connections fit under it, beside the node's other files
 * (SERVE_FILES_RESERVE: NATS, the stream, snapshots, the admin
 * interface's connections). A --max-connections that does not fit is
 * refused; the default is lowered to fit, and says so. */
static int serve_files_fit(const struct serve_options *options, uint32_t *connections_max,
                           char *errmsg, size_t size)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &limit); /* the check below says if it was enough */
    }
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        limit.rlim_cur = RLIM_INFINITY;
    uint64_t files = limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)limit.rlim_cur;
    uint64_t wanted = options->connections_max != 0 ? options->connections_max
                                                    : GATEWAY_CONNECTIONS_MAX_DEFAULT;
    *connections_max = (uint32_t)wanted;
    if (wanted + SERVE_FILES_RESERVE <= files)
        return 0;
    if (options->connections_max != 0 || files < SERVE_FILES_RESERVE + 64u) {
        snprintf(errmsg, size, "%" PRIu64 " client connections and %u other files need more "
                 "than the open-file limit, %" PRIu64 " (ulimit -n): lower "
                 "--max-connections or raise the limit", wanted, SERVE_FILES_RESERVE, files);
        return -1;
    }
    *connections_max = (uint32_t)(files - SERVE_FILES_RESERVE);
    fprintf(stderr, "nodown serve: at most %u client connections, to fit the open-file limit "
            "(%" PRIu64 ")\n", *connections_max, files);
    return 0;
}

/* The operator token: given, from the environment, or made once and kept
 * in DIR/admin.token (mode 0600) so that it survives restarts. */
static int serve_token(struct serve *serve)
{
    const char *given = serve->options.token ? serve->options.token
                                             : getenv("NODOWN_ADMIN_TOKEN");
    if (given != NULL) {
        snprintf(serve->token, sizeof serve->token, "%s", given);
        return 0;
    }
    char path[600];
    snprintf(path, sizeof path, "%s/admin.token", serve->options.data_dir);
    FILE *file = fopen(path, "r");
    if (file != NULL) {
        bool read = fgets(serve->token, sizeof serve->token, file) != NULL;
        fclose(file);
        serve->token[strcspn(serve->token, "\n")] = '\0';
        return read ? 0 : -1;
    }
    uint8_t random[SECRET_SALT_SIZE];
    if (secret_salt_generate(random) != 0)
        return -1;
    for (uint32_t i = 0; i < sizeof random; i++)
        snprintf(serve->token + 2 * i, 3, "%02x", random[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -1;
    bool written = write(fd, serve->token, strlen(serve->token)) == (ssize_t)strlen(serve->token);
    close(fd);
    return written ? 0 : -1;
}

static int serve_snapshot_path(void *context, char *path, size_t size, uint64_t *stream_seq)
{
    struct serve *serve = context;
    pthread_mutex_lock(&serve->snapshot_mutex);
    snprintf(path, size, "%s", serve->snapshot_seq ? serve->snapshot_path : "");
    *stream_seq = serve->snapshot_seq;
    pthread_mutex_unlock(&serve->snapshot_mutex);
    return 0;
}

static void serve_snapshot_note(struct serve *serve)
{
    pthread_mutex_lock(&serve->snapshot_mutex);
    serve->snapshot_seq = serve->replica.snapshot_seq;
    replica_snapshot_path(serve->replica.dir, serve->replica.snapshot_seq, "",
                          serve->snapshot_path, sizeof serve->snapshot_path);
    pthread_mutex_unlock(&serve->snapshot_mutex);
}

/* The digest walks the whole state (tens of milliseconds with millions of
 * orders), so the loop computes it only when the node has been idle since
 * the previous chores (100 ms: nothing applied) and the state moved since
 * the last one. Under steady load /status shows an older digest with the
 * sequence it belongs to; it is current within a second of the load
 * stopping. */
/* The state's digest now, as text. */
static void serve_digest_text(const struct serve *serve, char text[33])
{
    struct digest digest;
    engine_digest(&serve->replica.engine, &digest);
    digest_format(&digest, text);
}

static void serve_digest(struct serve *serve)
{
    uint64_t applied = serve->replica.applied_seq;
    bool idle = applied == serve->chores_seq;
    serve->chores_seq = applied;
    /* Stopped inside a message: the state is not the one at applied_seq. */
    if (!idle || serve->replica.stopped_seq != 0 ||
        (serve->digest_done && serve->digest_seq == applied))
        return;
    serve_digest_text(serve, serve->digest_text);
    serve->digest_seq = applied;
    serve->digest_done = true;
}

/* ---- /verify?at=SEQ: the digest and the invariant check at SEQ. ----
 *
 * The HTTP thread records the request; the loop, when its replica reaches
 * SEQ, stops applying there (gateway_pause_at), computes the digest and
 * runs the invariant checker on its own thread, keeps the result, and goes
 * on. Every node asked for the same SEQ answers about the same state, which
 * is what `nodown verify` compares. A node already past SEQ answers "past".
 * The pause is the time of a digest and a check: milliseconds for a small
 * state, more for millions of orders (docs/cluster.md). */
static int serve_verify_cb(void *context, uint64_t at, char *buffer, size_t size,
                           size_t *length)
{
    struct serve *serve = context;
    pthread_mutex_lock(&serve->verify.lock);
    const char *state = "pending";
    if (serve->verify.done_at == at)
        state = "done";
    else if (serve->verify.applied > at)
        state = "past";
    else
        serve->verify.requested = at;
    int n = snprintf(buffer, size,
                     "{\"node_id\":%u,\"at\":%" PRIu64 ",\"state\":\"%s\",\"applied_seq\":%" PRIu64
                     ",\"digest\":\"%s\",\"check\":\"%s\"}\n",
                     serve->options.node_id, at, state, serve->verify.applied,
                     serve->verify.done_at == at ? serve->verify.digest : "",
                     serve->verify.done_at == at ? serve->verify.check : "");
    pthread_mutex_unlock(&serve->verify.lock);
    if (n < 0 || (size_t)n >= size)
        return ERR_CAPACITY;
    *length = (size_t)n;
    return 0;
}

static void serve_verify_step(struct serve *serve)
{
    uint64_t applied = serve->replica.applied_seq;
    pthread_mutex_lock(&serve->verify.lock);
    serve->verify.applied = applied;
    uint64_t at = serve->verify.requested;
    if (at != 0 && at < applied)
        serve->verify.requested = 0; /* past it: the answer says so */
    pthread_mutex_unlock(&serve->verify.lock);
    if (at == 0 || at < applied) {
        gateway_pause_at(serve->gateway, 0);
        return;
    }
    if (at > applied || serve->replica.stopped_seq != 0) {
        gateway_pause_at(serve->gateway, at); /* stopped: "pending" for good */
        return;
    }
    char text[33], check[160];
    serve_digest_text(serve, text);
    if (engine_check(&serve->replica.engine, check, sizeof check) == 0)
        snprintf(check, sizeof check, "ok");
    for (char *c = check; *c != '\0'; c++)
        *c = *c == '"' || *c == '\\' || (unsigned char)*c < 0x20 ? '\'' : *c; /* JSON-safe */
    pthread_mutex_lock(&serve->verify.lock);
    serve->verify.done_at = at;
    memcpy(serve->verify.digest, text, sizeof text);
    memcpy(serve->verify.check, check, sizeof check);
    if (serve->verify.requested == at)
        serve->verify.requested = 0;
    pthread_mutex_unlock(&serve->verify.lock);
    gateway_pause_at(serve->gateway, 0);
}

/* After the stream's leader changed, the messages this node applied
 * lately are read back and compared (replica/audit.h): a new leader whose
 * copy lacks what the old one delivered would show there. */
static void serve_audit_leader(struct serve *serve, const char *leader)
{
    if (leader[0] == '\0' || strcmp(leader, serve->stream_leader) == 0)
        return;
    bool changed = serve->stream_leader[0] != '\0';
    snprintf(serve->stream_leader, sizeof serve->stream_leader, "%s", leader);
    serve->audit_retries = 0;
    if (changed && audit_start(&serve->audit, &serve->journal_config,
                               serve->replica.applied_seq) == 0)
        printf("nodown: the stream's leader is %s now: reading back what this node applied\n",
               leader);
}

/* An audit that could not read the stream (the cluster still settling)
 * is tried again a few times, SERVE_AUDIT_RETRY_MS apart. */
static void serve_audit_retry(struct serve *serve)
{
    if (serve->audit_retry_ms == 0 || serve_now_ms() < serve->audit_retry_ms)
        return;
    serve->audit_retry_ms = 0;
    audit_start(&serve->audit, &serve->journal_config, serve->replica.applied_seq);
}

/* A finished audit: said on stdout and in /status; a difference is fatal. */
static void serve_audit_poll(struct serve *serve)
{
    struct audit_result result;
    if (!audit_poll(&serve->audit, &result))
        return;
    if (result.rv == 0)
        snprintf(serve->audit_last, sizeof serve->audit_last, "ok: %" PRIu64 " messages of %"
                 PRIu64 "..%" PRIu64 " read back equal", result.checked, result.from_seq,
                 result.to_seq);
    else
        snprintf(serve->audit_last, sizeof serve->audit_last, "%s: %.120s",
                 result.rv == ERR_CHECKSUM ? "DIFFERS" : "incomplete", result.error);
    printf("nodown: journal audit %s\n", serve->audit_last);
    fflush(stdout);
    if (result.rv != 0 && result.rv != ERR_CHECKSUM && serve->audit_retries++ < 3)
        serve->audit_retry_ms = serve_now_ms() + SERVE_AUDIT_RETRY_MS;
    if (result.rv == ERR_CHECKSUM)
        snprintf(serve->fatal, sizeof serve->fatal, "journal audit: %.200s; this node's state "
                 "holds what the stream no longer does (a NATS failure lost acknowledged "
                 "data): restore it from a snapshot below %" PRIu64, result.error,
                 result.differ_seq);
}

/* Renders /status and refreshes the gauges, once a second. */
static void serve_status(struct serve *serve)
{
    uint64_t last_seq = serve->replica.applied_seq;
    bool connected = journal_connected(serve->journal);
    struct journal_stream_info info;
    if (connected && journal_stream_info(serve->journal, &info) == 0) {
        last_seq = info.last_seq; /* on failure: lag shows 0 */
        serve_audit_leader(serve, info.leader);
        serve_audit_retry(serve);
    }
    uint64_t lag = last_seq > serve->replica.applied_seq ? last_seq - serve->replica.applied_seq
                                                         : 0;
    const struct engine *engine = &serve->replica.engine;
    char json[SERVE_STATUS_SIZE];
    char durability[DURABILITY_TEXT_SIZE];
    durability_format(&serve->options.durability, durability);
    char build[VERSIONS_TEXT_SIZE]; /* what this build runs: src/replica/versions.h */
    if (versions_json(build, sizeof build) == 0)
        snprintf(build, sizeof build, "null");
    int length = snprintf(
        json, sizeof json,
        "{\"node_id\":%u,\"applied_seq\":%" PRIu64 ",\"stream_last_seq\":%" PRIu64
        ",\"lag\":%" PRIu64 ",\"digest\":\"%s\",\"digest_seq\":%" PRIu64
        ",\"logic_version\":%u,"
        "\"logic_versions_supported\":[%u,%u],\"snapshot_format\":%u,\"protocol_version\":%u,"
        "\"snapshot_seq\":%" PRIu64 ",\"nats\":{\"connected\":%s,\"embedded\":%s,"
        "\"restarts\":%u,\"durability\":\"%s\"},\"gateway\":{\"port\":%u},"
        "\"stream\":\"%s\",\"site\":\"%s\","
        "\"audit\":{\"runs\":%" PRIu64 ",\"last\":\"%s\"},"
        "\"sessions\":{\"in_use\":%u,\"max\":%u,\"per_account_max\":%u},\"stopped\":\"%s\","
        "\"build\":%s}\n",
        serve->options.node_id, serve->replica.applied_seq, last_seq, lag, serve->digest_text,
        serve->digest_seq,
        serve->replica.engine.logic_version, LOGIC_VERSION_MIN, LOGIC_VERSION_MAX,
        snapshot_format_written(engine->logic_version), FRAME_PROTOCOL_VERSION,
        serve->replica.snapshot_seq,
        connected ? "true" : "false", serve->embedded ? "true" : "false",
        serve->embedded ? serve->nats.restart_count : 0,
        serve->embedded ? durability : "of the NATS servers", gateway_port(serve->gateway),
        serve->dr_waiting ? JOURNAL_STREAM_MIRROR : JOURNAL_STREAM,
        serve->dr_waiting ? "disaster-recovery" : "primary", serve->audit.runs,
        serve->audit_last, engine->session_count, engine->limits.sessions_max,
        engine->limits.sessions_per_account_max, serve->stopped, build);
    if (length > 0 && (size_t)length < sizeof json)
        http_admin_text_publish(&serve->status, json, (size_t)length);
    /* Counters move by what happened since the last turn. */
    struct metrics_counter *counters[] = {
        &serve->metrics.commands_applied_total, &serve->metrics.orders_total,
        &serve->metrics.batches_applied_total, &serve->metrics.nats_restarts_total,
    };
    uint64_t totals[] = {
        serve->replica.commands_applied, serve->replica.orders_applied,
        serve->replica.batches_applied, serve->embedded ? serve->nats.restart_count : 0,
    };
    metrics_write_begin(&serve->metrics); /* one group: a render sees it whole */
    for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++)
        metrics_counter_add(counters[i], totals[i] - metrics_counter_get(counters[i]));
    gateway_metrics_sync(serve->gateway);
    metrics_gauge_set(&serve->metrics.applied_seq, (int64_t)serve->replica.applied_seq);
    metrics_gauge_set(&serve->metrics.state_sessions, (int64_t)engine->session_count);
    metrics_gauge_set(&serve->metrics.state_sessions_max, (int64_t)engine->limits.sessions_max);
    metrics_gauge_set(&serve->metrics.stream_lag, (int64_t)lag);
    metrics_gauge_set(&serve->metrics.snapshot_pause_us_max,
                      (int64_t)(serve->replica.snapshot_pause_ns_max / 1000));
    metrics_write_end(&serve->metrics);
}

/* On a first start with $NODOWN_HOUSE_SECRET set, the house gets its
 * logon secret through the stream like any command. Two nodes doing it
 * send the same (client 0, sequence 1): the second is a resend. A secret
 * shorter than --min-secret-length is refused before it is published. */
static int serve_house_secret(struct serve *serve, char *errmsg, size_t size)
{
    const char *secret = getenv("NODOWN_HOUSE_SECRET");
    if (secret == NULL || serve->replica.engine.accounts[0].has_secret || serve->dr_waiting)
        return 0;
    char why[128];
    if (!secret_size_ok(strlen(secret), serve->options.secret_size_min, why, sizeof why)) {
        snprintf(errmsg, size, "$NODOWN_HOUSE_SECRET: %s (--min-secret-length)", why);
        return -1;
    }
    snprintf(errmsg, size, "could not publish the house secret");
    struct command command;
    memset(&command, 0, sizeof command);
    command.type = COMMAND_ACCOUNT_SET_SECRET;
    command.client_seq = 1;
    if (secret_salt_generate(command.u.account_set_secret.salt) != 0 ||
        secret_hash(secret, strlen(secret), command.u.account_set_secret.salt,
                    command.u.account_set_secret.hash) != 0)
        return -1;
    static uint8_t buffer[BATCH_SIZE_MAX];
    size_t length = 0;
    uint64_t seq = 0;
    bool duplicate = false;
    if (batch_encode(0, &command, 1, buffer, sizeof buffer, &length) != 0)
        return -1;
    return journal_publish(serve->journal, buffer, length, "house-secret", 5000, &seq,
                           &duplicate);
}

/* The embedded server keeps its port across restarts (DIR/nats/port), so
 * that nodes which joined it with --nats find it again. */
static int serve_nats_start(struct serve *serve, char *errmsg, size_t size)
{
    char path[600];
    snprintf(path, sizeof path, "%s/nats/port", serve->options.data_dir);
    unsigned port = 0;
    FILE *file = fopen(path, "r");
    if (file != NULL) {
        if (fscanf(file, "%u", &port) != 1 || port > 65535)
            port = 0;
        fclose(file);
    }
    int rv = nats_supervisor_start(&serve->nats, serve->options.data_dir, (uint16_t)port,
                                   serve->options.durability, errmsg, size);
    if (rv == 0 && port != serve->nats.port && (file = fopen(path, "w")) != NULL) {
        fprintf(file, "%u\n", serve->nats.port);
        fclose(file); /* if it cannot be written, the next start picks a port again */
    }
    return rv;
}

/* Joining a cluster without a rebuild: a node with no snapshot fetches a
 * peer's latest (GET /snapshot/latest), puts it where its own would be,
 * and the replica loads it like its own and consumes the stream after it.
 * The file is checked as any snapshot is (checksums): a bad one is passed
 * over at load, and the node then starts from the beginning. */
static int serve_join(struct serve *serve, char *errmsg, size_t size)
{
    char dir[REPLICA_PATH_MAX], path[REPLICA_PATH_MAX + 64], final[REPLICA_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/snapshots", serve->options.data_dir);
    uint64_t newest = 0;
    if (replica_snapshot_list(dir, &newest, 1) > 0)
        return 0; /* it has its own: a restart, not a join */
    unsigned port = 0;
    int used = 0;
    char token[HTTP_ADMIN_TOKEN_SIZE_MAX + 2];
    if (sscanf(serve->options.join, "%u:%n", &port, &used) != 1 || used == 0 || port == 0 ||
        port > 65535) {
        snprintf(errmsg, size, "--join %s: not PORT:TOKENFILE", serve->options.join);
        return ERR_USAGE;
    }
    admin_token_read(serve->options.join + used, token, sizeof token);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/.join-download", dir);
    uint64_t seq = 0, bytes = 0;
    uint64_t start_ms = serve_now_ms();
    if (admin_http_download((uint16_t)port, "/snapshot/latest", token, path, &seq, &bytes) != 0) {
        unlink(path);
        fprintf(stderr, "nodown: join: no snapshot from 127.0.0.1:%u; starting from the "
                "stream's beginning\n", port);
        return 0;
    }
    replica_snapshot_path(dir, seq, "", final, sizeof final);
    if (rename(path, final) != 0) {
        snprintf(errmsg, size, "join: %.300s: %s", final, strerror(errno));
        return ERR_IO;
    }
    serve->joined_ms = serve_now_ms();
    printf("nodown: joined from 127.0.0.1:%u: snapshot at stream sequence %" PRIu64
           ", %" PRIu64 " bytes in %" PRIu64 " ms\n", port, seq, bytes,
           serve_now_ms() - start_ms);
    fflush(stdout);
    return 0;
}

/* Opens the journal. On a cluster (--nats) the stream may be between
 * leaders, or the servers restarting, when the node starts: it keeps
 * trying for SERVE_JOURNAL_WAIT_MS, saying so every few seconds, rather
 * than give up at the first timeout. */
static int serve_journal_open(struct serve *serve, const struct journal_config *config,
                              char *errmsg, size_t size)
{
    uint64_t start_ms = serve_now_ms();
    uint64_t said_ms = start_ms;
    for (;;) {
        int rv = journal_open(&serve->journal, config, errmsg, size);
        if (rv == 0 || rv == ERR_USAGE || rv == ERR_VERSION || serve->embedded || serve_stopping ||
            serve_now_ms() - start_ms >= SERVE_JOURNAL_WAIT_MS)
            return rv;
        if (serve_now_ms() - said_ms >= 5000) {
            fprintf(stderr, "nodown: still waiting for the stream: %s\n", errmsg);
            said_ms = serve_now_ms();
        }
        clock_sleep_ms(200);
    }
}

/* ---- The node registry (docs/upgrades.md): the gate of ACTIVATE_LOGIC. ---- */

/* Opens the registry and says what this node runs (a restart refreshes
 * it). Returns 0, or an error in errmsg (no registry then). */
static int serve_registry_announce(struct serve *serve, char *errmsg, size_t size)
{
    struct node_registry_entry self = {.node_id = serve->options.node_id,
                                       .logic_min = LOGIC_VERSION_MIN,
                                       .logic_max = serve->replica.engine.logic_version_max,
                                       .announced_unix_ms = 0};
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) == 0)
        self.announced_unix_ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
    snprintf(self.build, sizeof self.build, "logic %u..%u, snapshot %u, protocol %u",
             LOGIC_VERSION_MIN, LOGIC_VERSION_MAX, SNAPSHOT_FORMAT_VERSION,
             FRAME_PROTOCOL_VERSION);
    int rv = node_registry_open(&serve->registry, serve->journal, serve->registry_replicas,
                                errmsg, size);
    if (rv == 0)
        rv = node_registry_announce(serve->registry, &self, errmsg, size);
    if (rv != 0) {
        node_registry_close(serve->registry);
        serve->registry = NULL;
    }
    return rv;
}

/* Every node of the stream, as the registry says, runs version. Without a
 * registry: the node's own build decides on the embedded default (the
 * gateway has checked it), and with --nats nothing is allowed, since the
 * other nodes cannot be asked. */
static bool serve_logic_gate(void *context, uint32_t version, uint32_t *node_id, char *why,
                             size_t why_size)
{
    struct serve *serve = context;
    static struct node_registry_entry entries[NODE_REGISTRY_NODES_MAX];
    char errmsg[256] = "";
    uint32_t count = 0;
    if (serve->registry == NULL && serve->registry_replicas != 0 &&
        serve_registry_announce(serve, errmsg, sizeof errmsg) != 0) /* not yet: now, once */
        snprintf(serve->registry_error, sizeof serve->registry_error, "%s", errmsg);
    int rv = serve->registry == NULL ? ERR_IO
                                     : node_registry_list(serve->registry, entries,
                                                          NODE_REGISTRY_NODES_MAX, &count,
                                                          errmsg, sizeof errmsg);
    if (rv != 0) {
        *node_id = UINT32_MAX;
        snprintf(why, why_size, "the node registry cannot be read: %s",
                 serve->registry == NULL ? serve->registry_error : errmsg);
        return false;
    }
    return node_registry_allows(entries, count, version, node_id, why, why_size);
}

/* A failed announce: its error for /status and the gate's refusals, and
 * the chores' next try, 1 s after the first failure, doubling up to 32 s
 * (each try may hold the loop for NODE_REGISTRY_WAIT_MS). */
static void serve_registry_failed(struct serve *serve, const char *errmsg)
{
    snprintf(serve->registry_error, sizeof serve->registry_error, "%s", errmsg);
    uint32_t shift = serve->registry_tries < 5 ? serve->registry_tries : 5;
    serve->registry_tries++;
    serve->registry_retry_ms = serve_now_ms() + ((uint64_t)SERVE_REGISTRY_RETRY_MS << shift);
}

/* Announces this node, and gates activations on the registry. A failure
 * (a JetStream cluster still electing its leaders answers "no responders"
 * for a while) is logged and tried again by the chores, and by an
 * operator's activation; until it succeeds an activation is refused with
 * --nats, since a node missing from the registry could not be asked. On
 * the embedded default the node's own build decides meanwhile. */
static void serve_registry_start(struct serve *serve, int replicas)
{
    char errmsg[256] = "";
    serve->registry_replicas = replicas;
    if (serve_registry_announce(serve, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "nodown: %s; trying again in a second, then less often%s\n", errmsg,
                serve->embedded ? "" : ", every ACTIVATE_LOGIC refused until then");
        serve_registry_failed(serve, errmsg);
    }
    if (!serve->embedded || serve->registry != NULL)
        gateway_set_logic_gate(serve->gateway, serve_logic_gate, serve);
}

/* The chores' retry of a failed announce. */
static void serve_registry_poll(struct serve *serve)
{
    if (serve->registry != NULL || serve->registry_replicas == 0 || serve->dr_waiting ||
        serve_now_ms() < serve->registry_retry_ms)
        return;
    char errmsg[256] = "";
    if (serve_registry_announce(serve, errmsg, sizeof errmsg) != 0) {
        serve_registry_failed(serve, errmsg);
        return;
    }
    fprintf(stderr, "nodown: announced in the node registry after %u failed tries\n",
            serve->registry_tries);
    serve->registry_tries = 0;
    gateway_set_logic_gate(serve->gateway, serve_logic_gate, serve);
}

/* The replica from its newest snapshot, running at most --logic-max. */
static int serve_replica_open(struct serve *serve, const struct limits *limits, char *errmsg,
                              size_t size)
{
    const struct serve_options *options = &serve->options;
    int rv = replica_open(&serve->replica, options->data_dir, limits, errmsg, size);
    if (rv == 0 && options->logic_max != 0 &&
        engine_logic_version_max_set(&serve->replica.engine, options->logic_max) != 0) {
        snprintf(errmsg, size, "--logic-max %u: this build runs logic versions %u..%u and the "
                 "state is at %u", options->logic_max, LOGIC_VERSION_MIN, LOGIC_VERSION_MAX,
                 serve->replica.engine.logic_version);
        rv = ERR_USAGE;
    }
    return rv;
}

/* A node at a DR site follows the site's mirror and refuses commands
 * until `nodown promote` has made the site's own primary stream (its
 * description says so); then it reads that stream from where it is (the
 * same sequences) and takes commands. Called at start and every
 * SERVE_PROMOTED_CHECK_MS. Returns 0, or -1 when the node applied more of
 * the mirror than the promotion kept (it must not go on: its state would
 * contain commands the new primary does not). */
static int serve_promoted_check(struct serve *serve, char *errmsg, size_t size)
{
    struct journal_stream_info info;
    if (!serve->dr_waiting || journal_stream_lookup(serve->journal, JOURNAL_STREAM, &info) != 0 ||
        !info.promoted)
        return 0;
    if (serve->replica.applied_seq > info.last_seq) {
        snprintf(errmsg, size, "this site was promoted with its stream ending at %" PRIu64
                 " but this node applied up to %" PRIu64 " from the mirror; start it again "
                 "on a snapshot at or below %" PRIu64 " (or with an empty --data and --join)",
                 info.last_seq, serve->replica.applied_seq, info.last_seq);
        return -1;
    }
    journal_follow(serve->journal, JOURNAL_STREAM);
    serve->journal_config = journal_config_stream(serve->journal_config.urls,
                                                  serve->journal_config.replicas);
    if (serve->gateway != NULL) /* NULL while the node starts; stopped: still refused */
        gateway_set_read_only(serve->gateway, serve->stopped);
    serve->dr_waiting = false;
    /* What this node applied from the mirror must be what the promoted
     * stream holds (it differs only if the mirror grew after the copy,
     * a --force promotion with the primary still writing). */
    audit_start(&serve->audit, &serve->journal_config, serve->replica.applied_seq);
    printf("nodown: this site is primary (%s); following stream " JOURNAL_STREAM " from %" PRIu64
           ", taking commands\n", info.description, serve->replica.applied_seq + 1);
    fflush(stdout);
    return 0;
}

/* The client port, within the open-file limit (serve_files_fit). */
static int serve_gateway_open(struct serve *serve, char *errmsg, size_t size)
{
    const struct serve_options *options = &serve->options;
    uint32_t connections_max = 0;
    int rv = serve_files_fit(options, &connections_max, errmsg, size);
    struct gateway_config gateway = {
        .listen_host = options->listen_host, .listen_port = options->listen_port,
        .node_id = options->node_id, .metrics = &serve->metrics, .audit = &serve->audit,
        .batches_in_flight_max = serve_batches_in_flight(options),
        .connections_max = connections_max,
        .connections_per_address_max = options->connections_per_address_max,
        .handshake_timeout_ms = options->handshake_timeout_ms,
        .frame_timeout_ms = options->frame_timeout_ms, .heartbeat_ms = options->heartbeat_ms};
    if (rv == 0)
        rv = gateway_open(&serve->gateway, &gateway, &serve->replica, serve->journal, errmsg,
                          size);
    return rv;
}

static int serve_start(struct serve *serve, char *errmsg, size_t size)
{
    const struct serve_options *options = &serve->options;
    if (mkdir(options->data_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(errmsg, size, "%s: %s", options->data_dir, strerror(errno));
        return -1;
    }
    /* Before anything in the directory is touched: one node per directory. */
    pid_t holder = 0;
    if (dir_lock_acquire(&serve->lock, options->data_dir, &holder, errmsg, size) != 0)
        return -1;
    serve->embedded = options->nats_urls == NULL;
    int rv = serve->embedded ? serve_nats_start(serve, errmsg, size) : 0;
    const char *urls = serve->embedded ? serve->nats.url : options->nats_urls;
    int replicas = serve->embedded ? 1 : options->replicas;
    struct journal_config journal = journal_config_stream(urls, replicas);
    if (options->dr_of != NULL) {
        snprintf(serve->dr_api, sizeof serve->dr_api, "$JS.%.80s.API", options->dr_of);
        journal = journal_config_mirror(urls, replicas, serve->dr_api);
        serve->dr_waiting = true;
    }
    serve->journal_config = journal;
    if (rv == 0)
        rv = serve_journal_open(serve, &journal, errmsg, size);
    struct limits limits;
    limits_default(&limits);
    if (rv == 0 && options->join != NULL)
        rv = serve_join(serve, errmsg, size);
    if (rv == 0)
        rv = serve_replica_open(serve, &limits, errmsg, size);
    /* Promoted already (a restart after `nodown promote`): the site's own
     * stream, before its length is checked against this node's state. */
    if (rv == 0)
        rv = serve_promoted_check(serve, errmsg, size);
    uint64_t stream_last_seq = 0;
    if (rv == 0 && journal_last_seq(serve->journal, &stream_last_seq) == 0 &&
        stream_last_seq < serve->replica.applied_seq) {
        /* The stream lost what this node applied (its servers lost power
         * before syncing, see docs/journal.md): new batches would reuse
         * those numbers with other contents. Following it would diverge. */
        snprintf(errmsg, size, "the stream ends at %" PRIu64 " but this node applied up to %"
                 PRIu64 "; it will not follow a stream that lost data",
                 stream_last_seq, serve->replica.applied_seq);
        rv = -1;
    }
    if (rv == 0)
        rv = serve_gateway_open(serve, errmsg, size);
    if (rv == 0 && !serve->dr_waiting)
        serve_registry_start(serve, replicas);
    if (rv == 0 && serve->dr_waiting)
        gateway_set_read_only(serve->gateway, "this node is at the disaster-recovery site, "
                              "which follows the primary: send commands to the primary "
                              "('nodown promote' makes this site primary)");
    if (rv == 0 && serve_token(serve) != 0) {
        snprintf(errmsg, size, "no operator token: give --token or check %s/admin.token",
                 options->data_dir);
        rv = -1;
    }
    struct http_admin_config admin = {
        .host = options->http_host, .port = options->http_port, .token = serve->token,
        .status_cb = http_admin_text_read, .status_context = &serve->status,
        .metrics_cb = metrics_render_cb, .metrics_context = &serve->metrics,
        .snapshot_path_cb = serve_snapshot_path, .snapshot_context = serve,
        .verify_cb = serve_verify_cb, .verify_context = serve,
    };
    if (rv == 0)
        rv = http_admin_start(&serve->admin, &admin, errmsg, size);
    return rv;
}

static void serve_stop(struct serve *serve)
{
    if (serve->admin != NULL)
        http_admin_stop(serve->admin);
    gateway_close(serve->gateway);
    audit_destroy(&serve->audit);
    node_registry_close(serve->registry); /* over the journal's connection */
    /* The journal first: its delivery thread decodes into the replica's
     * batches (replica_decode_ahead). */
    if (serve->journal != NULL)
        journal_close(serve->journal);
    if (serve->replica.commands != NULL)
        replica_close(&serve->replica);
    if (serve->embedded)
        nats_supervisor_stop(&serve->nats);
    dir_lock_release(&serve->lock); /* last: the directory is free now */
}

/* Every 100 ms: the supervised server's health, snapshots, the status. */
static void serve_chores(struct serve *serve, uint64_t *status_ms)
{
    char errmsg[256];
    if (serve->embedded && nats_supervisor_poll(&serve->nats) != 0)
        fprintf(stderr, "nodown: nats-server restart failed: %s\n", serve->nats.last_error);
    int done = replica_snapshot_poll(&serve->replica, false, errmsg, sizeof errmsg);
    if (done < 0)
        fprintf(stderr, "nodown: %s\n", errmsg);
    else if (done == 1)
        serve_snapshot_note(serve);
    if (serve->replica.bytes_since_snapshot >= serve->options.snapshot_bytes &&
        serve->replica.snapshot_pid == 0 && serve->replica.stopped_seq == 0 &&
        replica_snapshot_start(&serve->replica, errmsg, sizeof errmsg) != 0)
        fprintf(stderr, "nodown: %s\n", errmsg);
    serve_digest(serve);
    serve_audit_poll(serve);
    serve_registry_poll(serve);
    if (serve_now_ms() >= *status_ms + 1000) {
        serve_status(serve);
        *status_ms = serve_now_ms();
    }
}

/* The replica met a logic version this build cannot run: the node stays
 * up, says why (stderr, /status), refuses commands (ERROR 8, so clients
 * go to a node that can) and answers queries with what it applied; a
 * restart on a build that runs that version applies on (docs/upgrades.md). */
static void serve_stop_applying(struct serve *serve, const char *why)
{
    assert(serve->replica.stopped_seq != 0);
    snprintf(serve->stopped, sizeof serve->stopped, "%s", why);
    for (char *c = serve->stopped; *c != '\0'; c++)
        *c = *c == '"' || *c == '\\' || (unsigned char)*c < 0x20 ? '\'' : *c; /* JSON-safe */
    fprintf(stderr, "nodown: %s; queries are still answered, commands refused\n", why);
    fflush(stderr);
    gateway_set_read_only(serve->gateway, serve->stopped);
    serve_status(serve);
}

/* Applies what the stream already holds before the node says it is
 * ready, so that the house secret, and the first logons, meet the state. */
static int serve_catch_up(struct serve *serve, char *errmsg, size_t size)
{
    uint64_t last_seq = 0;
    if (journal_last_seq(serve->journal, &last_seq) != 0)
        return 0; /* the loop catches up anyway */
    while (serve->replica.applied_seq < last_seq && !serve_stopping) {
        int rv = gateway_step(serve->gateway, 10, errmsg, size);
        if (rv == ERR_LOGIC_UNSUPPORTED) {
            serve_stop_applying(serve, errmsg);
            return 0; /* serving what it has */
        }
        if (rv != 0)
            return -1;
    }
    return 0;
}

static int serve_loop(struct serve *serve)
{
    char errmsg[512];
    uint64_t chores_ms = 0;
    uint64_t status_ms = 0;
    uint64_t promoted_ms = 0;
    while (!serve_stopping) {
        int rv = gateway_step(serve->gateway, 10, errmsg, sizeof errmsg);
        if (rv == ERR_LOGIC_UNSUPPORTED) {
            serve_stop_applying(serve, errmsg);
        } else if (rv != 0) {
            fprintf(stderr, "nodown: stopping: %s\n", errmsg);
            return 1;
        }
        if (serve->dr_waiting && serve_now_ms() >= promoted_ms + SERVE_PROMOTED_CHECK_MS) {
            if (serve_promoted_check(serve, errmsg, sizeof errmsg) != 0) {
                fprintf(stderr, "nodown: stopping: %s\n", errmsg);
                return 1;
            }
            promoted_ms = serve_now_ms();
        }
        serve_verify_step(serve);
        if (serve_now_ms() >= chores_ms + 100) {
            serve_chores(serve, &status_ms);
            chores_ms = serve_now_ms();
        }
        if (serve->fatal[0] != '\0') {
            fprintf(stderr, "nodown: stopping: %s\n", serve->fatal);
            return 1;
        }
    }
    return 0;
}

int serve_main(int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "--help") == 0) {
        serve_usage(stdout);
        return 0;
    }
    static struct serve serve;
    if (serve_parse(argc, argv, &serve.options) != 0) {
        serve_usage(stderr);
        return 2;
    }
    serve.lock.fd = -1;
    metrics_init(&serve.metrics);
    audit_init(&serve.audit);
    pthread_mutex_init(&serve.snapshot_mutex, NULL);
    pthread_mutex_init(&serve.verify.lock, NULL);
    http_admin_text_init(&serve.status, serve.status_buffer, sizeof serve.status_buffer);
    signal(SIGINT, serve_on_signal);
    signal(SIGTERM, serve_on_signal);
    signal(SIGPIPE, SIG_IGN);
    char errmsg[512] = "";
    int rv = serve_start(&serve, errmsg, sizeof errmsg);
    if (rv == 0 && serve_catch_up(&serve, errmsg, sizeof errmsg) != 0)
        rv = -1;
    if (rv == 0 && serve.joined_ms != 0)
        printf("nodown: joined: caught up to stream sequence %" PRIu64 " in %" PRIu64
               " ms after the snapshot\n", serve.replica.applied_seq,
               serve_now_ms() - serve.joined_ms);
    if (rv == 0 && serve_house_secret(&serve, errmsg, sizeof errmsg) != 0)
        rv = -1;
    if (rv != 0) {
        fprintf(stderr, "nodown serve: %s\n", errmsg);
        serve_stop(&serve);
        return 1;
    }
    serve.chores_seq = serve.replica.applied_seq; /* caught up: a digest now */
    serve_digest(&serve);
    serve_status(&serve);
    char durability[DURABILITY_TEXT_SIZE];
    durability_format(&serve.options.durability, durability);
    printf("nodown: node %u serving clients on %s:%u, admin on http://%s:%u/status "
           "(token in %s/admin.token), durability %s, NATS %s\n",
           serve.options.node_id, serve.options.listen_host, gateway_port(serve.gateway),
           serve.options.http_host, http_admin_port(serve.admin), serve.options.data_dir,
           serve.embedded ? durability : "of the NATS servers",
           serve.embedded ? serve.nats.url : serve.options.nats_urls);
    fflush(stdout);
    rv = serve_loop(&serve);
    printf("nodown: stopped at stream sequence %" PRIu64 "\n", serve.replica.applied_seq);
    serve_stop(&serve);
    return rv;
}
