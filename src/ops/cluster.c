/* `nodown cluster up|status|down`: a whole cluster on this machine, for
 * trying and testing: N nats-servers in one JetStream cluster (the stream
 * with min(N, 3) copies) and M nodes following it, on loopback ports.
 *
 *   DIR/cluster.txt     the layout: a line per process, "nats I PID CLIENT
 *                       ROUTE MONITOR LEAF" or "node I PID LISTEN HTTP";
 *                       from layout 2 on (CLUSTER_LAYOUT_VERSION, first
 *                       line "layout 2"), "nats_binary I PATH" for a
 *                       server that runs a binary of its own
 *   DIR/nats-I/         nats.conf, jetstream/ (its store), log
 *   DIR/node-I/         the node's data (nodown serve --data), log
 *   DIR/house.secret    the house's logon secret (made at the first up)
 *
 * `up` is idempotent: on a directory it already set up it starts again
 * whatever is not running, on the same ports and data (so a test kills a
 * process with kill -9 and brings it back with `up`). `down` stops the
 * nodes, then the servers (SIGTERM, then SIGKILL after 10 s) and keeps the
 * data. The processes run in sessions of their own: they outlive the
 * command that started them.
 */
#define _DEFAULT_SOURCE /* realpath, from X/Open */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ops/cluster.h"

#include "gateway/admin_http.h"
#include "lib/clock.h"
#include "core/result.h"
#include "replica/journal.h"
#include "replica/nats_supervisor.h"
#include "replica/node_registry.h"

#define CLUSTER_READY_MS 60000    /* a process, or the stream, must be up within */
#define CLUSTER_STOP_MS 10000     /* SIGTERM, then SIGKILL */
#define CLUSTER_HELD_MAX 256u

/* The JetStream domains of the primary cluster and of the DR site: the
 * site reaches the primary's API as $JS.primary.API over its leafnode. */
#define CLUSTER_DOMAIN "primary"
#define CLUSTER_DR_DOMAIN "dr"
#define CLUSTER_DR_NODE_ID 100u

struct cluster {
    const char *dir;
    const char *self; /* this binary, for the nodes */
    struct cluster_layout layout; /* DIR/cluster.txt */
    char urls[CLUSTER_NATS_MAX * 32];
    char snapshot_mb[16];   /* the nodes' --snapshot-mb; "": their default */
    struct durability durability; /* the servers' sync_interval (kept in cluster.txt) */
    int held[CLUSTER_HELD_MAX]; /* sockets holding planned ports (cluster_free_port) */
    uint32_t held_count;
    char house_secret[64];
};

/* Whether pid is running (not a zombie: a killed process waits to be
 * reaped by whoever adopted it) and is one of this cluster's (its command
 * line names the cluster's directory: a pid can be reused). */
bool cluster_process_running(const char *dir, pid_t pid)
{
    if (pid <= 0)
        return false;
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *file = fopen(path, "r");
    size_t size = file != NULL ? fread(text, 1, sizeof text - 1, file) : 0;
    if (file != NULL)
        fclose(file);
    text[size] = '\0';
    const char *state = strrchr(text, ')');
    if (state == NULL || state[1] != ' ' || state[2] == 'Z' || state[2] == 'X')
        return false;
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    file = fopen(path, "r");
    size = file != NULL ? fread(text, 1, sizeof text - 1, file) : 0;
    if (file != NULL)
        fclose(file);
    for (size_t i = 0; i < size; i++)
        text[i] = text[i] == '\0' ? ' ' : text[i];
    text[size] = '\0';
    /* Empty for a moment while a process we just forked calls execve. */
    return size == 0 || strstr(text, dir) != NULL;
}

static bool cluster_running(const struct cluster *cluster, pid_t pid)
{
    return cluster_process_running(cluster->dir, pid);
}

/* A free loopback port (bound to 0, then released). */
/* Whether port is already in the layout (a process that is down now
 * will want it back). */
static bool cluster_port_taken(const struct cluster *cluster, uint16_t port)
{
    for (uint32_t i = 0; i < cluster->layout.nats_count; i++) {
        for (uint32_t k = 0; k < 4; k++)
            if (cluster->layout.nats[i].ports[k] == port)
                return true;
    }
    for (uint32_t i = 0; i < cluster->layout.node_count; i++) {
        for (uint32_t k = 0; k < 2; k++)
            if (cluster->layout.nodes[i].ports[k] == port)
                return true;
    }
    for (uint32_t k = 0; k < 4; k++) {
        if (cluster->layout.dr_nats.ports[k] == port || cluster->layout.dr_node.ports[k] == port)
            return true;
    }
    return false;
}

/* A free loopback port not in the layout. The socket bound to it stays
 * open (in held) until cluster_ports_release, so that the next call cannot
 * be given the same port. */
static uint16_t cluster_free_port(struct cluster *cluster)
{
    for (int tries = 0; tries < 100 && cluster->held_count < CLUSTER_HELD_MAX; tries++) {
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
        socklen_t size = sizeof address;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        uint16_t port = 0;
        if (fd >= 0 && bind(fd, (struct sockaddr *)&address, sizeof address) == 0 &&
            getsockname(fd, (struct sockaddr *)&address, &size) == 0)
            port = ntohs(address.sin_port);
        if (fd >= 0)
            cluster->held[cluster->held_count++] = fd;
        if (port != 0 && !cluster_port_taken(cluster, port))
            return port;
    }
    return 0;
}

static void cluster_ports_release(struct cluster *cluster)
{
    for (uint32_t i = 0; i < cluster->held_count; i++)
        close(cluster->held[i]);
    cluster->held_count = 0;
}

static bool cluster_port_open(uint16_t port)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool open = fd >= 0 && connect(fd, (struct sockaddr *)&address, sizeof address) == 0;
    if (fd >= 0)
        close(fd);
    return open;
}

/* ---- The layout file. ---- */

static void cluster_path(const struct cluster *cluster, char *path, const char *format,
                         uint32_t index)
{
    char name[64];
    snprintf(name, sizeof name, format, index);
    snprintf(path, CLUSTER_PATH_MAX, "%s/%s", cluster->dir, name);
}

/* A "nats_binary I PATH" line (layout 2) into the layout: true if it is
 * one. Index CLUSTER_NATS_DR is the DR site's server. */
static bool cluster_load_binary(struct cluster *cluster, const char *line)
{
    unsigned index = 0;
    int start = 0;
    if (sscanf(line, "nats_binary %u %n", &index, &start) != 1 || start == 0 ||
        index > CLUSTER_NATS_DR)
        return false;
    char *binary = index == CLUSTER_NATS_DR ? cluster->layout.dr_nats_binary
                                            : cluster->layout.nats_binary[index];
    snprintf(binary, CLUSTER_PATH_MAX, "%.*s", (int)strcspn(line + start, "\n"), line + start);
    return true;
}

/* The binary server index runs (CLUSTER_NATS_DR: the DR site's): the one
 * recorded for it, else $NODOWN_NATS_SERVER or the installed one. */
static const char *cluster_nats_binary(const struct cluster *cluster, uint32_t index)
{
    const char *binary = index == CLUSTER_NATS_DR ? cluster->layout.dr_nats_binary
                                                  : cluster->layout.nats_binary[index];
    return binary[0] != '\0' ? binary : nats_supervisor_server_path();
}

static int cluster_load(struct cluster *cluster)
{
    char path[CLUSTER_PATH_MAX];
    cluster_path(cluster, path, "cluster.txt", 0);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return -1;
    char line[256];
    cluster->layout.nats_count = cluster->layout.node_count = 0;
    memset(cluster->layout.nats_binary, 0, sizeof cluster->layout.nats_binary);
    cluster->layout.dr_nats_binary[0] = '\0';
    while (fgets(line, sizeof line, file) != NULL) {
        char kind[8];
        unsigned index = 0, a = 0, b = 0, c = 0, d = 0;
        int pid = 0;
        if (sscanf(line, "snapshot_mb %15s", cluster->snapshot_mb) == 1)
            continue;
        unsigned version = 0;
        if (sscanf(line, "layout %u", &version) == 1) {
            if (version > CLUSTER_LAYOUT_VERSION) {
                fprintf(stderr, "nodown cluster: %s is layout %u, newer than this build "
                        "knows (%u)\n", path, version, CLUSTER_LAYOUT_VERSION);
                fclose(file);
                return -1;
            }
            continue;
        }
        if (cluster_load_binary(cluster, line))
            continue;
        char durability[DURABILITY_TEXT_SIZE];
        char ignored[8];
        if (sscanf(line, "durability %31s", durability) == 1) {
            if (durability_parse(durability, &cluster->durability, ignored, sizeof ignored) != 0)
                cluster->durability = (struct durability){0}; /* always, the safe side */
            continue;
        }
        /* A server's line has 6 fields, 7 since it has a leafnode port. */
        int fields = sscanf(line, "%7s %u %d %u %u %u %u", kind, &index, &pid, &a, &b, &c, &d);
        struct cluster_process *p = NULL;
        bool server = fields == 6 || fields == 7;
        if (server && strcmp(kind, "nats") == 0 && index == cluster->layout.nats_count &&
            index < CLUSTER_NATS_MAX)
            p = &cluster->layout.nats[cluster->layout.nats_count++];
        else if (fields == 5 && strcmp(kind, "node") == 0 &&
                 index == cluster->layout.node_count && index < CLUSTER_NODES_MAX)
            p = &cluster->layout.nodes[cluster->layout.node_count++];
        else if (server && strcmp(kind, "drnats") == 0 && index == 0)
            p = &cluster->layout.dr_nats, cluster->layout.dr = true;
        else if (fields == 5 && strcmp(kind, "drnode") == 0 && index == 0)
            p = &cluster->layout.dr_node;
        if (p == NULL) {
            fclose(file);
            return -1;
        }
        *p = (struct cluster_process){(pid_t)pid,
                                      {(uint16_t)a, (uint16_t)b, (uint16_t)c, (uint16_t)d}};
    }
    fclose(file);
    return cluster->layout.nats_count > 0 ? 0 : -1;
}

static int cluster_save(const struct cluster *cluster)
{
    char path[CLUSTER_PATH_MAX], temporary[CLUSTER_PATH_MAX + 8];
    cluster_path(cluster, path, "cluster.txt", 0);
    snprintf(temporary, sizeof temporary, "%s.new", path);
    FILE *file = fopen(temporary, "w");
    if (file == NULL)
        return -1;
    const struct cluster_layout *layout = &cluster->layout;
    /* Layout 2 only when it says more than layout 1 can. */
    bool binaries = layout->dr_nats_binary[0] != '\0';
    for (uint32_t i = 0; i < layout->nats_count; i++)
        binaries = binaries || layout->nats_binary[i][0] != '\0';
    if (binaries)
        fprintf(file, "layout %u\n", CLUSTER_LAYOUT_VERSION);
    for (uint32_t i = 0; i < layout->nats_count; i++) {
        if (layout->nats_binary[i][0] != '\0')
            fprintf(file, "nats_binary %u %s\n", i, layout->nats_binary[i]);
    }
    if (layout->dr_nats_binary[0] != '\0')
        fprintf(file, "nats_binary %u %s\n", CLUSTER_NATS_DR, layout->dr_nats_binary);
    for (uint32_t i = 0; i < layout->nats_count; i++)
        fprintf(file, "nats %u %d %u %u %u %u\n", i, (int)layout->nats[i].pid,
                layout->nats[i].ports[0], layout->nats[i].ports[1], layout->nats[i].ports[2],
                layout->nats[i].ports[3]);
    for (uint32_t i = 0; i < layout->node_count; i++)
        fprintf(file, "node %u %d %u %u\n", i, (int)layout->nodes[i].pid,
                layout->nodes[i].ports[0], layout->nodes[i].ports[1]);
    if (layout->dr)
        fprintf(file, "drnats 0 %d %u 0 %u 0\ndrnode 0 %d %u %u\n", (int)layout->dr_nats.pid,
                layout->dr_nats.ports[0], layout->dr_nats.ports[2], (int)layout->dr_node.pid,
                layout->dr_node.ports[0], layout->dr_node.ports[1]);
    if (cluster->snapshot_mb[0] != '\0')
        fprintf(file, "snapshot_mb %s\n", cluster->snapshot_mb);
    char durability[DURABILITY_TEXT_SIZE];
    durability_format(&cluster->durability, durability);
    fprintf(file, "durability %s\n", durability);
    bool failed = ferror(file) != 0;
    if (fclose(file) != 0 || failed || rename(temporary, path) != 0)
        return -1;
    return 0;
}

static void cluster_urls(struct cluster *cluster)
{
    size_t used = 0;
    cluster->urls[0] = '\0';
    for (uint32_t i = 0; i < cluster->layout.nats_count; i++)
        used += (size_t)snprintf(cluster->urls + used, sizeof cluster->urls - used,
                                 "%snats://127.0.0.1:%u", i > 0 ? "," : "",
                                 cluster->layout.nats[i].ports[0]);
}

/* ---- Starting processes. ---- */

/* Forks argv in a session of its own, output to log, environment plus
 * house (NODOWN_HOUSE_SECRET) when given. */
static pid_t cluster_spawn(char *const argv[], const char *log, const char *house)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setsid();
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null = open("/dev/null", O_RDONLY);
    if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
        _exit(126);
    if (house != NULL)
        setenv("NODOWN_HOUSE_SECRET", house, 1);
    execv(argv[0], argv);
    _exit(127);
}

/* The configuration of server index, for its binary: a server older than
 * 2.10 (CLUSTER_NATS_OLD_ENV only) knows no sync_interval and refuses the
 * file that names it; it gets the setting when it is replaced by a newer
 * one (cluster_nats_restart_on writes the file again). */
static int cluster_nats_config(const struct cluster *cluster, uint32_t index)
{
    char path[CLUSTER_PATH_MAX], errmsg[256];
    bool sync = nats_supervisor_version_check(cluster_nats_binary(cluster, index), errmsg,
                                              sizeof errmsg) != ERR_VERSION;
    cluster_path(cluster, path, "nats-%u", index);
    mkdir(path, 0755);
    cluster_path(cluster, path, "nats-%u/nats.conf", index);
    FILE *file = fopen(path, "w");
    if (file == NULL)
        return -1;
    const struct cluster_process *p = &cluster->layout.nats[index];
    char sync_interval[DURABILITY_TEXT_SIZE + 20] = ", sync_interval: ";
    durability_sync_interval(&cluster->durability, sync_interval + strlen(sync_interval));
    /* lame_duck_grace_period: a server put in lame duck mode (nodown
     * cluster upgrade-nats) closes its clients' connections after 2 s
     * instead of 10: a node moves to another server within milliseconds,
     * and the upgrade of three servers waits for each one's exit. */
    fprintf(file, "# Written by nodown cluster up (src/ops/cluster.c).\n"
                  "server_name: \"nats-%u\"\nlisten: \"127.0.0.1:%u\"\n"
                  "http: \"127.0.0.1:%u\"\nlame_duck_grace_period: \"2s\"\n"
                  "jetstream { store_dir: \"%s/nats-%u/jetstream\", domain: \"" CLUSTER_DOMAIN
                  "\"%s }\n"
                  "leafnodes { listen: \"127.0.0.1:%u\" }\n",
            index, p->ports[0], p->ports[2], cluster->dir, index, sync ? sync_interval : "",
            p->ports[3]);
    if (cluster->layout.nats_count > 1) {
        fprintf(file, "cluster {\n  name: \"nodown\"\n  listen: \"127.0.0.1:%u\"\n  routes: [",
                p->ports[1]);
        /* Every server's route, its own included (a server skips it): a
         * server that has never met its peers takes the size of the
         * JetStream meta group from the routes it is given, at least 2
         * (nats-server's bootstrapRaftNode); a ring (one route each) made
         * it 2 on a cluster of 3. The servers are started one after the
         * other (cluster_start), so that two do not dial each other at
         * once. */
        for (uint32_t j = 0; j < cluster->layout.nats_count; j++)
            fprintf(file, "%s\"nats-route://127.0.0.1:%u\"", j == 0 ? " " : ", ",
                    cluster->layout.nats[j].ports[1]);
        fprintf(file, " ]\n}\n");
    }
    bool failed = ferror(file) != 0;
    return fclose(file) != 0 || failed ? -1 : 0;
}

static int cluster_nats_start(struct cluster *cluster, uint32_t index)
{
    if (cluster_nats_config(cluster, index) != 0)
        return -1;
    char config[CLUSTER_PATH_MAX], log[CLUSTER_PATH_MAX];
    cluster_path(cluster, config, "nats-%u/nats.conf", index);
    cluster_path(cluster, log, "nats-%u/log", index);
    char *argv[] = {(char *)cluster_nats_binary(cluster, index), "-c", config, NULL};
    cluster->layout.nats[index].pid = cluster_spawn(argv, log, NULL);
    return cluster->layout.nats[index].pid > 0 ? 0 : -1;
}

/* The stream's copies: three, or every server when there are fewer. */
static uint32_t cluster_replicas(const struct cluster *cluster)
{
    return cluster->layout.nats_count < 3 ? cluster->layout.nats_count : 3;
}

/* The cluster's stream, as its nodes open it (creating it if missing).
 * Returns 0, or an error with errmsg. */
static int cluster_journal_open(const struct cluster *cluster, struct journal **journal,
                                char *errmsg, size_t size)
{
    struct journal_config config =
        journal_config_stream(cluster->urls, (int)cluster_replicas(cluster));
    return journal_open(journal, &config, errmsg, size);
}

/* The DR site server's configuration: JetStream in its own domain, a
 * leafnode to every primary server, and nothing of nodown's subjects
 * crossing it (a DR node's publish must never reach the primary's stream;
 * the mirror's own traffic runs on JetStream's subjects). As for the
 * primary's (cluster_nats_config), a server older than 2.10 gets no
 * sync_interval. */
static int cluster_dr_nats_config(const struct cluster *cluster)
{
    char path[CLUSTER_PATH_MAX], errmsg[256];
    bool sync = nats_supervisor_version_check(cluster_nats_binary(cluster, CLUSTER_NATS_DR),
                                              errmsg, sizeof errmsg) != ERR_VERSION;
    cluster_path(cluster, path, "dr-nats", 0);
    mkdir(path, 0755);
    cluster_path(cluster, path, "dr-nats/nats.conf", 0);
    FILE *file = fopen(path, "w");
    if (file == NULL)
        return -1;
    const struct cluster_process *p = &cluster->layout.dr_nats;
    char sync_interval[DURABILITY_TEXT_SIZE + 20] = ", sync_interval: ";
    durability_sync_interval(&cluster->durability, sync_interval + strlen(sync_interval));
    fprintf(file, "# Written by nodown cluster up --dr (src/ops/cluster.c).\n"
                  "server_name: \"dr-0\"\nlisten: \"127.0.0.1:%u\"\nhttp: \"127.0.0.1:%u\"\n"
                  "lame_duck_grace_period: \"2s\"\n" /* as the primary's servers */
                  "jetstream { store_dir: \"%s/dr-nats/jetstream\", domain: \""
                  CLUSTER_DR_DOMAIN "\"%s }\n"
                  "leafnodes { remotes: [ { urls: [",
            p->ports[0], p->ports[2], cluster->dir, sync ? sync_interval : "");
    for (uint32_t i = 0; i < cluster->layout.nats_count; i++)
        fprintf(file, "%s\"nats-leaf://127.0.0.1:%u\"", i > 0 ? ", " : " ",
                cluster->layout.nats[i].ports[3]);
    fprintf(file, " ],\n  deny_imports: [\"nodown.>\"], deny_exports: [\"nodown.>\"] } ] }\n");
    bool failed = ferror(file) != 0;
    return fclose(file) != 0 || failed ? -1 : 0;
}

static int cluster_dr_nats_start(struct cluster *cluster)
{
    char path[CLUSTER_PATH_MAX], log[CLUSTER_PATH_MAX];
    if (cluster_dr_nats_config(cluster) != 0)
        return -1;
    cluster_path(cluster, path, "dr-nats/nats.conf", 0);
    cluster_path(cluster, log, "dr-nats/log", 0);
    char *argv[] = {(char *)cluster_nats_binary(cluster, CLUSTER_NATS_DR), "-c", path, NULL};
    cluster->layout.dr_nats.pid = cluster_spawn(argv, log, NULL);
    return cluster->layout.dr_nats.pid > 0 ? 0 : -1;
}

/* The --peers of node INDEX (CLUSTER_NODES_MAX: the DR site's): every
 * other node's admin interface with its token file, for the operator's
 * page (docs/page.md). Returns false when they do not fit. */
static bool cluster_peers(const struct cluster *cluster, uint32_t index, char *peers,
                          size_t size)
{
    size_t used = 0;
    peers[0] = '\0';
    for (uint32_t j = 0; j <= CLUSTER_NODES_MAX; j++) {
        bool dr = j == CLUSTER_NODES_MAX;
        if (j == index || (!dr && j >= cluster->layout.node_count) || (dr && !cluster->layout.dr))
            continue;
        const struct cluster_process *p = dr ? &cluster->layout.dr_node : &cluster->layout.nodes[j];
        char token[CLUSTER_PATH_MAX];
        cluster_path(cluster, token, dr ? "dr-node/admin.token" : "node-%u/admin.token", j);
        int n = snprintf(peers + used, size - used, "%s127.0.0.1:%u@%s", used > 0 ? "," : "",
                         p->ports[1], token);
        if (n < 0 || (size_t)n >= size - used)
            return false;
        used += (size_t)n;
    }
    return true;
}

/* Node INDEX, or the DR site's node (index CLUSTER_NODES_MAX): it follows
 * the site's mirror (--dr-of) on the site's server. */
static int cluster_node_start(struct cluster *cluster, uint32_t index)
{
    bool dr = index == CLUSTER_NODES_MAX;
    char data[CLUSTER_PATH_MAX], log[CLUSTER_PATH_MAX], dr_url[32];
    char listen[32], http[32], id[16], replicas[8];
    cluster_path(cluster, data, dr ? "dr-node" : "node-%u", index);
    mkdir(data, 0755);
    cluster_path(cluster, log, dr ? "dr-node/log" : "node-%u/log", index);
    const struct cluster_process *p = dr ? &cluster->layout.dr_node : &cluster->layout.nodes[index];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", p->ports[0]);
    snprintf(http, sizeof http, "127.0.0.1:%u", p->ports[1]);
    snprintf(id, sizeof id, "%u", dr ? CLUSTER_DR_NODE_ID : index + 1);
    snprintf(replicas, sizeof replicas, "%u", dr ? 1u : cluster_replicas(cluster));
    snprintf(dr_url, sizeof dr_url, "nats://127.0.0.1:%u", cluster->layout.dr_nats.ports[0]);
    char join[CLUSTER_PATH_MAX + 16];
    /* Every node but the first joins from the first's latest snapshot when
     * it starts with none of its own (a node added to a running cluster). */
    snprintf(join, sizeof join, "%u:%s/node-0/admin.token", cluster->layout.nodes[0].ports[1],
             cluster->dir);
    const char *binary = getenv(CLUSTER_NODE_BINARY_ENV);
    binary = binary != NULL && binary[0] != '\0' ? binary : cluster->self;
    char *argv[24] = {(char *)binary, "serve", "--data", data, "--nats",
                      dr ? dr_url : cluster->urls, "--replicas", replicas, "--listen", listen,
                      "--http", http, "--node-id", id};
    int argc = 14;
    if (dr) {
        argv[argc++] = "--dr-of";
        argv[argc++] = CLUSTER_DOMAIN;
    }
    if (cluster->snapshot_mb[0] != '\0') {
        argv[argc++] = "--snapshot-mb";
        argv[argc++] = (char *)cluster->snapshot_mb;
    }
    if (index > 0) {
        argv[argc++] = "--join";
        argv[argc++] = join;
    }
    static char peers[(CLUSTER_NODES_MAX + 1) * (CLUSTER_PATH_MAX + 32)]; /* one thread */
    /* Only this build knows --peers: an older one (CLUSTER_NODE_BINARY_ENV,
     * a release before the page) would refuse it. */
    bool own = strcmp(binary, cluster->self) == 0;
    if (own && cluster_peers(cluster, index, peers, sizeof peers) && peers[0] != '\0') {
        argv[argc++] = "--peers";
        argv[argc++] = peers;
    }
    assert(argc < (int)(sizeof argv / sizeof argv[0]));
    argv[argc] = NULL;
    /* Node 0 alone sets the house's secret on a first start: the others
     * learn it from the stream (on a cluster the stream keeps every copy
     * published, journal.h). */
    pid_t pid = cluster_spawn(argv, log, index == 0 ? cluster->house_secret : NULL);
    *(dr ? &cluster->layout.dr_node.pid : &cluster->layout.nodes[index].pid) = pid;
    return pid > 0 ? 0 : -1;
}

/* Waits until port accepts, or the process died, or the time is up. */
static int cluster_wait_port(const struct cluster *cluster, pid_t pid, uint16_t port,
                             const char *what)
{
    int64_t deadline_ms = clock_now_ms() + CLUSTER_READY_MS;
    while (clock_now_ms() < deadline_ms) {
        if (cluster_port_open(port))
            return 0;
        /* Ours, just started: only waitpid says for sure that it ended. */
        if (waitpid(pid, NULL, WNOHANG) == pid || !cluster_running(cluster, pid)) {
            fprintf(stderr, "nodown cluster: %s exited (see its log)\n", what);
            return -1;
        }
        clock_sleep_ms(50);
    }
    fprintf(stderr, "nodown cluster: %s not listening on %u after %d ms\n", what, port,
            CLUSTER_READY_MS);
    return -1;
}

/* Whether a nats-server older than 2.10 is accepted (CLUSTER_NATS_OLD_ENV:
 * tests and the drill only). */
static bool cluster_nats_old_accepted(void)
{
    const char *old = getenv(CLUSTER_NATS_OLD_ENV);
    return old != NULL && strcmp(old, "1") == 0;
}

/* Servers this build's journal refuses (CLUSTER_NATS_OLD_ENV): ready once
 * nats-0 names a JetStream meta leader on its monitoring port. */
static int cluster_wait_meta_leader(const struct cluster *cluster, int64_t deadline_ms)
{
    char body[4096], leader[64] = "";
    while (leader[0] == '\0' && clock_now_ms() < deadline_ms) {
        if (admin_http_get(cluster->layout.nats[0].ports[2], "/jsz", NULL, body,
                           sizeof body) == 0)
            admin_json_field(body, "leader", leader, sizeof leader);
        if (leader[0] == '\0')
            clock_sleep_ms(100);
    }
    if (leader[0] == '\0')
        fprintf(stderr, "nodown cluster: no JetStream leader after %d ms\n", CLUSTER_READY_MS);
    return leader[0] != '\0' ? 0 : -1;
}

/* The stream exists once the servers have a JetStream leader: creating it
 * (or finding it) is the test. */
static int cluster_wait_stream(struct cluster *cluster)
{
    char errmsg[512] = "";
    int64_t deadline_ms = clock_now_ms() + CLUSTER_READY_MS;
    int rv = ERR_TIMEOUT;
    while (rv != ERR_VERSION && clock_now_ms() < deadline_ms) {
        struct journal *journal = NULL;
        rv = cluster_journal_open(cluster, &journal, errmsg, sizeof errmsg);
        if (rv == 0) {
            journal_close(journal);
            return 0;
        }
        if (rv == ERR_VERSION && cluster_nats_old_accepted())
            return cluster_wait_meta_leader(cluster, deadline_ms);
        clock_sleep_ms(rv == ERR_VERSION ? 0 : 250);
    }
    fprintf(stderr, "nodown cluster: no stream after %d ms: %s\n", CLUSTER_READY_MS, errmsg);
    return -1;
}

/* The house's secret: the --house-secret given, or the one kept in
 * DIR/house.secret, or a new one made and kept there. */
static int cluster_house_secret(struct cluster *cluster, const char *given)
{
    char path[CLUSTER_PATH_MAX];
    cluster_path(cluster, path, "house.secret", 0);
    FILE *file = fopen(path, "r");
    if (given == NULL && file != NULL) {
        bool ok = fgets(cluster->house_secret, sizeof cluster->house_secret, file) != NULL;
        fclose(file);
        cluster->house_secret[strcspn(cluster->house_secret, "\n")] = '\0';
        return ok && cluster->house_secret[0] != '\0' ? 0 : -1;
    }
    if (file != NULL)
        fclose(file);
    if (given != NULL) {
        snprintf(cluster->house_secret, sizeof cluster->house_secret, "%s", given);
    } else {
        uint8_t random[12];
        FILE *urandom = fopen("/dev/urandom", "rb");
        if (urandom == NULL || fread(random, 1, sizeof random, urandom) != sizeof random)
            return -1;
        fclose(urandom);
        for (size_t i = 0; i < sizeof random; i++)
            snprintf(cluster->house_secret + 2 * i, 3, "%02x", random[i]);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t size = strlen(cluster->house_secret);
    bool ok = fd >= 0 && write(fd, cluster->house_secret, size) == (ssize_t)size;
    if (fd >= 0)
        close(fd);
    return ok ? 0 : -1;
}

/* A new layout: ports for every process. */
static int cluster_plan(struct cluster *cluster, uint32_t nats_count, uint32_t node_count)
{
    cluster->layout.nats_count = nats_count;
    cluster->layout.node_count = node_count;
    for (uint32_t i = 0; i < nats_count; i++) {
        for (uint32_t k = 0; k < 4; k++)
            cluster->layout.nats[i].ports[k] = cluster_free_port(cluster);
    }
    for (uint32_t i = 0; i < node_count; i++) {
        for (uint32_t k = 0; k < 2; k++)
            cluster->layout.nodes[i].ports[k] = cluster_free_port(cluster);
    }
    return 0;
}

/* The DR site, after the primary: its server, then its node (which makes
 * the mirror when it is missing). */
static int cluster_dr_start(struct cluster *cluster)
{
    const struct cluster_process *server = &cluster->layout.dr_nats;
    const struct cluster_process *node = &cluster->layout.dr_node;
    if (!cluster_running(cluster, server->pid) && cluster_dr_nats_start(cluster) != 0)
        return -1;
    if (cluster_save(cluster) != 0 ||
        cluster_wait_port(cluster, server->pid, server->ports[0], "dr-nats"))
        return -1;
    if (!cluster_running(cluster, node->pid) && cluster_node_start(cluster, CLUSTER_NODES_MAX) != 0)
        return -1;
    if (cluster_save(cluster) != 0 ||
        cluster_wait_port(cluster, node->pid, node->ports[0], "dr-node"))
        return -1;
    return cluster_save(cluster);
}

/* Asks the binary of each server about to start for its version
 * (nats_supervisor_version_check; 2.9 too with CLUSTER_NATS_OLD_ENV). */
static int cluster_binaries_check(const struct cluster *cluster)
{
    char errmsg[512];
    for (uint32_t i = 0; i < cluster->layout.nats_count; i++) {
        if (cluster_running(cluster, cluster->layout.nats[i].pid))
            continue;
        int rv = nats_supervisor_version_check(cluster_nats_binary(cluster, i), errmsg,
                                               sizeof errmsg);
        if (rv != 0 && !(rv == ERR_VERSION && cluster_nats_old_accepted())) {
            fprintf(stderr, "nodown cluster: %s\n", errmsg);
            return -1;
        }
    }
    return 0;
}

/* Starts every server that is not running, waits for them and the stream,
 * then every node likewise, then the DR site if there is one. */
static int cluster_start(struct cluster *cluster)
{
    char what[32];
    if (cluster_binaries_check(cluster) != 0)
        return -1;
    /* One after the other, each listening before the next starts. */
    for (uint32_t i = 0; i < cluster->layout.nats_count; i++) {
        if (cluster_running(cluster, cluster->layout.nats[i].pid))
            continue;
        if (cluster_nats_start(cluster, i) != 0 ||
            cluster_save(cluster) != 0) /* its pid written before the wait: down finds it */
            return -1;
        snprintf(what, sizeof what, "nats-%u", i);
        const struct cluster_process *server = &cluster->layout.nats[i];
        if (cluster_wait_port(cluster, server->pid, server->ports[0], what) != 0)
            return -1;
    }
    if (cluster_save(cluster) != 0 || cluster_wait_stream(cluster) != 0)
        return -1;
    for (uint32_t i = 0; i < cluster->layout.node_count; i++) {
        if (!cluster_running(cluster, cluster->layout.nodes[i].pid) &&
            cluster_node_start(cluster, i) != 0)
            return -1;
    }
    if (cluster_save(cluster) != 0)
        return -1;
    for (uint32_t i = 0; i < cluster->layout.node_count; i++) {
        snprintf(what, sizeof what, "node-%u", i);
        const struct cluster_process *node = &cluster->layout.nodes[i];
        if (cluster_wait_port(cluster, node->pid, node->ports[0], what) != 0)
            return -1;
    }
    return cluster->layout.dr ? cluster_dr_start(cluster) : cluster_save(cluster);
}

/* ---- Status. ---- */

/* Each server's line; returns how many are down. */
static uint32_t cluster_status_nats(const struct cluster *cluster, bool json)
{
    uint32_t down = 0;
    for (uint32_t i = 0; i < cluster->layout.nats_count; i++) {
        const struct cluster_process *p = &cluster->layout.nats[i];
        bool up = cluster_running(cluster, p->pid) && cluster_port_open(p->ports[0]);
        char body[4096] = "", leader[64] = "";
        if (up && admin_http_get(p->ports[2], "/jsz", NULL, body, sizeof body) == 0)
            admin_json_field(body, "leader", leader, sizeof leader);
        down += up ? 0 : 1;
        printf(json ? "%s{\"name\":\"nats-%u\",\"pid\":%d,\"up\":%s,"
                      "\"url\":\"nats://127.0.0.1:%u\",\"meta_leader\":\"%s\"}"
                    : "%snats-%u  pid %d  %s  nats://127.0.0.1:%u  JetStream meta leader: %s\n",
               json && i > 0 ? "," : "", i, (int)p->pid, json ? (up ? "true" : "false")
                                                             : (up ? "up  " : "DOWN"),
               p->ports[0], leader[0] ? leader : (json ? "" : "-"));
    }
    return down;
}

static uint32_t cluster_status_stream(const struct cluster *cluster, bool json)
{
    struct journal *journal = NULL;
    struct journal_stream_info info;
    char errmsg[512];
    bool ok = cluster_journal_open(cluster, &journal, errmsg, sizeof errmsg) == 0 &&
              journal_stream_info(journal, &info) == 0;
    journal_close(journal);
    if (!ok) {
        printf(json ? "\"stream\":null" : "stream NODOWN: unreachable\n");
        return 1;
    }
    printf(json ? "\"stream\":{\"last_seq\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"leader\":\"%s\","
                  "\"replicas\":["
                : "stream NODOWN: last seq %" PRIu64 ", %" PRIu64 " bytes, leader %s;",
           info.last_seq, info.bytes, info.leader);
    for (uint32_t i = 0; i < info.peer_count; i++)
        printf(json ? "%s{\"name\":\"%s\",\"current\":%s,\"offline\":%s,\"lag\":%" PRIu64 "}"
                    : "%s %s (%s%s, lag %" PRIu64 ")",
               i > 0 ? (json ? "," : ";") : "", info.peers[i].name,
               info.peers[i].current ? (json ? "true" : "current") : (json ? "false" : "behind"),
               json ? (info.peers[i].offline ? "true" : "false")
                    : (info.peers[i].offline ? ", offline" : ""),
               info.peers[i].lag);
    printf(json ? "]}" : "\n");
    return 0;
}

/* One node's line: name, its process, its admin token's file. Returns 1
 * when the node is down, else 0. */
static uint32_t cluster_status_node(const struct cluster *cluster, const char *name,
                                const struct cluster_process *p, const char *token_path,
                                bool json, bool first)
{
    char token[128] = "", body[4096] = "";
    admin_token_read(token_path, token, sizeof token);
    bool up = cluster_running(cluster, p->pid) &&
              admin_http_get(p->ports[1], "/status", token, body, sizeof body) == 0;
    char applied[24] = "", lag[24] = "", digest[40] = "", digest_seq[24] = "";
    admin_json_field(body, "applied_seq", applied, sizeof applied);
    admin_json_field(body, "lag", lag, sizeof lag);
    admin_json_field(body, "digest", digest, sizeof digest);
    admin_json_field(body, "digest_seq", digest_seq, sizeof digest_seq);
    /* The journal audit's last outcome, its first word: ok, DIFFERS, ... */
    const char *last = strstr(body, "\"last\":\"");
    char audit[16] = "-";
    if (last != NULL && last[8] != '"')
        snprintf(audit, sizeof audit, "%.*s", (int)strcspn(last + 8, ":\""), last + 8);
    body[strcspn(body, "\n")] = '\0';
    if (json)
        printf("%s{\"name\":\"%s\",\"pid\":%d,\"up\":%s,\"listen\":\"127.0.0.1:%u\","
               "\"status\":%s}", first ? "" : ",", name, (int)p->pid, up ? "true" : "false",
               p->ports[0], up ? body : "null");
    else
        printf("%-8s pid %d  %s  127.0.0.1:%u  applied %s  lag %s  digest %s at %s  audit %s\n",
               name, (int)p->pid, up ? "up  " : "DOWN", p->ports[0], up ? applied : "-",
               up ? lag : "-", up ? digest : "-", up ? digest_seq : "-", up ? audit : "-");
    return up ? 0 : 1;
}

static uint32_t cluster_status_nodes(const struct cluster *cluster, bool json)
{
    char path[CLUSTER_PATH_MAX], name[32];
    uint32_t down = 0;
    for (uint32_t i = 0; i < cluster->layout.node_count; i++) {
        cluster_path(cluster, path, "node-%u/admin.token", i);
        snprintf(name, sizeof name, "node-%u", i);
        down += cluster_status_node(cluster, name, &cluster->layout.nodes[i], path, json,
                                    i == 0);
    }
    return down;
}

/* The DR site: its server, its stream (the mirror, or the promoted
 * stream) and its node. */
static uint32_t cluster_status_dr(const struct cluster *cluster, bool json)
{
    const struct cluster_process *p = &cluster->layout.dr_nats;
    bool up = cluster_running(cluster, p->pid) && cluster_port_open(p->ports[0]);
    char url[32], errmsg[512], path[CLUSTER_PATH_MAX];
    snprintf(url, sizeof url, "nats://127.0.0.1:%u", p->ports[0]);
    struct journal_config config = journal_config_mirror(url, 1, "$JS." CLUSTER_DOMAIN ".API");
    config.must_exist = true;
    struct journal *journal = NULL;
    struct journal_stream_info mirror, promoted;
    bool known = up && journal_open(&journal, &config, errmsg, sizeof errmsg) == 0 &&
                 journal_stream_info(journal, &mirror) == 0;
    bool is_promoted = known && journal_stream_lookup(journal, JOURNAL_STREAM, &promoted) == 0 &&
                       promoted.promoted;
    journal_close(journal);
    printf(json ? "\"dr\":{\"nats\":{\"pid\":%d,\"up\":%s,\"url\":\"%s\"},"
                : "dr-nats  pid %d  %s  %s\n", (int)p->pid,
           json ? (up ? "true" : "false") : (up ? "up  " : "DOWN"), url);
    if (json)
        printf("\"mirror\":{\"known\":%s,\"last_seq\":%" PRIu64 ",\"lag\":%" PRIu64
               ",\"active_ms\":%" PRId64 "},\"promoted\":%s,\"node\":",
               known ? "true" : "false", known ? mirror.last_seq : 0,
               known ? mirror.mirror_lag : 0, known ? mirror.mirror_active_ms : -1,
               is_promoted ? "true" : "false");
    else if (is_promoted)
        printf("DR stream NODOWN: primary (%s), last seq %" PRIu64 "\n", promoted.description,
               promoted.last_seq);
    else if (known)
        printf("DR mirror NODOWN_DR: last seq %" PRIu64 ", %" PRIu64 " behind, heard from the "
               "primary %" PRId64 " ms ago\n", mirror.last_seq, mirror.mirror_lag,
               mirror.mirror_active_ms);
    else
        printf("DR mirror NODOWN_DR: unreachable\n");
    cluster_path(cluster, path, "dr-node/admin.token", 0);
    uint32_t down = cluster_status_node(cluster, "dr-node", &cluster->layout.dr_node, path, json,
                                        true);
    printf(json ? "}" : "");
    return down + (up ? 0 : 1);
}

/* ---- Stopping. ---- */

static void cluster_stop(const struct cluster *cluster, pid_t pid)
{
    if (!cluster_running(cluster, pid))
        return;
    kill(pid, SIGTERM);
    int64_t deadline_ms = clock_now_ms() + CLUSTER_STOP_MS;
    while (cluster_running(cluster, pid) && clock_now_ms() < deadline_ms) {
        waitpid(pid, NULL, WNOHANG); /* ours if this process started it */
        clock_sleep_ms(20);
    }
    if (cluster_running(cluster, pid))
        kill(pid, SIGKILL);
}

/* ---- Planned moves. ---- */

/* The stream's leader now ("" when there is none), waiting while it is
 * `from` (a leader stepping down) for up to 10 s. */
static void cluster_leader(struct journal *journal, const char *from, char *leader, size_t size)
{
    int64_t deadline_ms = clock_now_ms() + 10000;
    struct journal_stream_info info;
    do {
        leader[0] = '\0';
        if (journal_stream_info(journal, &info) == 0)
            snprintf(leader, size, "%s", info.leader);
        if (leader[0] != '\0' && strcmp(leader, from) != 0)
            return;
        clock_sleep_ms(5);
    } while (clock_now_ms() < deadline_ms);
}

/* Moves the stream's leader off nats-AWAY (any leader when away < 0): a
 * step-down, again if the same server is elected (a few times). */
static int cluster_step_down(const struct cluster *cluster, int away)
{
    struct journal *journal = NULL;
    char errmsg[512];
    if (cluster_journal_open(cluster, &journal, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "nodown cluster: %s\n", errmsg);
        return 1;
    }
    char leader[64] = "", away_name[32] = "";
    cluster_leader(journal, "", leader, sizeof leader);
    snprintf(away_name, sizeof away_name, "nats-%d", away);
    int rv = 0;
    for (int tries = 0; tries < 5 && (away < 0 ? tries == 0 : strcmp(leader, away_name) == 0);
         tries++) {
        char before[64];
        snprintf(before, sizeof before, "%s", leader);
        int64_t start_ms = clock_now_ms();
        rv = journal_stream_step_down(journal);
        if (rv != 0) {
            fprintf(stderr, "nodown cluster: %s\n", journal_error(journal));
            break;
        }
        cluster_leader(journal, before, leader, sizeof leader);
        printf("stream leader %s -> %s in %" PRId64 " ms\n", before,
               leader[0] ? leader : "(none yet)", clock_now_ms() - start_ms);
    }
    if (rv == 0 && away >= 0 && strcmp(leader, away_name) != 0 && leader[0] != '\0')
        printf("nats-%d does not lead the stream: %s does\n", away, leader);
    journal_close(journal);
    return rv == 0 && (away < 0 || strcmp(leader, away_name) != 0) ? 0 : 1;
}

/* A planned restart of nats-INDEX: the stream's leader moved off it
 * first, then a clean stop (SIGTERM), then started again on its data. */
static int cluster_restart_nats(struct cluster *cluster, uint32_t index)
{
    if (index >= cluster->layout.nats_count || cluster_house_secret(cluster, NULL) != 0 ||
        cluster_step_down(cluster, (int)index) != 0)
        return 1;
    cluster_stop(cluster, cluster->layout.nats[index].pid);
    int64_t start_ms = clock_now_ms();
    if (cluster_start(cluster) != 0)
        return 1;
    printf("nats-%u restarted, the stream found again, in %" PRId64 " ms\n", index,
           clock_now_ms() - start_ms);
    return 0;
}

/* The stream's retention from the oldest snapshot still needed: every
 * node restarts from its own newest snapshot, and a new one joins from
 * node 0's, so the messages at or below the oldest of the nodes' newest
 * snapshots are needed by nobody. Refused unless every node answers (a
 * node that is down may hold an older one). */
static int cluster_trim(const struct cluster *cluster)
{
    uint64_t oldest = UINT64_MAX;
    for (uint32_t i = 0; i < cluster->layout.node_count; i++) {
        char path[CLUSTER_PATH_MAX], token[128], body[4096], snapshot[24] = "";
        cluster_path(cluster, path, "node-%u/admin.token", i);
        admin_token_read(path, token, sizeof token);
        uint16_t http = cluster->layout.nodes[i].ports[1];
        if (admin_http_get(http, "/status", token, body, sizeof body) != 0) {
            fprintf(stderr, "nodown cluster: node-%u does not answer: nothing trimmed\n", i);
            return 1;
        }
        admin_json_field(body, "snapshot_seq", snapshot, sizeof snapshot);
        uint64_t seq = strtoull(snapshot, NULL, 10);
        oldest = seq < oldest ? seq : oldest;
    }
    if (oldest == 0 || oldest == UINT64_MAX) {
        printf("a node has no snapshot yet: nothing trimmed\n");
        return 0;
    }
    struct journal *journal = NULL;
    uint64_t purged = 0;
    char errmsg[512];
    int rv = cluster_journal_open(cluster, &journal, errmsg, sizeof errmsg);
    if (rv != 0)
        fprintf(stderr, "nodown cluster: %s\n", errmsg);
    else if ((rv = journal_stream_purge_below(journal, oldest + 1, &purged)) != 0)
        fprintf(stderr, "nodown cluster: %s\n", journal_error(journal));
    journal_close(journal);
    if (rv == 0)
        printf("stream trimmed below sequence %" PRIu64 " (the oldest of the nodes' newest "
               "snapshots is at %" PRIu64 "): %" PRIu64 " messages removed\n", oldest + 1,
               oldest, purged);
    return rv == 0 ? 0 : 1;
}

/* `nodes`: the node registry (docs/upgrades.md); `forget --node N`: a
 * node gone for good leaves it, so that it no longer refuses activations. */
static int cluster_registry(const struct cluster *cluster, bool forget, int node)
{
    struct journal *journal = NULL;
    struct node_registry *registry = NULL;
    static struct node_registry_entry entries[NODE_REGISTRY_NODES_MAX];
    uint32_t count = 0;
    char errmsg[512];
    int rv = cluster_journal_open(cluster, &journal, errmsg, sizeof errmsg);
    if (rv == 0)
        rv = node_registry_open(&registry, journal, (int)cluster_replicas(cluster), errmsg,
                                sizeof errmsg);
    if (rv == 0 && forget)
        rv = node_registry_forget(registry, (uint32_t)node, errmsg, sizeof errmsg);
    else if (rv == 0)
        rv = node_registry_list(registry, entries, NODE_REGISTRY_NODES_MAX, &count, errmsg,
                                sizeof errmsg);
    node_registry_close(registry);
    journal_close(journal);
    if (rv != 0) {
        fprintf(stderr, "nodown cluster: %s\n", errmsg);
        return 1;
    }
    if (forget)
        printf("node %d forgotten: it no longer counts for ACTIVATE_LOGIC\n", node);
    for (uint32_t i = 0; i < count; i++) {
        if (entries[i].readable)
            printf("node %u: logic %u..%u, announced at %" PRIu64 " ms (Unix), build %s\n",
                   entries[i].node_id, entries[i].logic_min, entries[i].logic_max,
                   entries[i].announced_unix_ms, entries[i].build);
        else
            printf("node %u: an entry this build cannot read (refuses every activation)\n",
                   entries[i].node_id);
    }
    return 0;
}

/* ---- The command. ---- */

static int cluster_up(struct cluster *cluster, uint32_t nats_count, uint32_t node_count,
                      bool dr, const char *house)
{
    char snapshot_mb[sizeof cluster->snapshot_mb];
    memcpy(snapshot_mb, cluster->snapshot_mb, sizeof snapshot_mb);
    struct durability durability = cluster->durability;
    if (cluster_load(cluster) != 0) {
        cluster_plan(cluster, nats_count, node_count);
        memcpy(cluster->snapshot_mb, snapshot_mb, sizeof snapshot_mb);
        cluster->durability = durability;
    }
    /* A layout from before leafnode ports; a DR site asked for. */
    for (uint32_t i = 0; i < cluster->layout.nats_count; i++) {
        if (cluster->layout.nats[i].ports[3] == 0)
            cluster->layout.nats[i].ports[3] = cluster_free_port(cluster);
    }
    if (dr && !cluster->layout.dr) {
        cluster->layout.dr = true;
        cluster->layout.dr_nats = (struct cluster_process){0, {cluster_free_port(cluster), 0,
                                                        cluster_free_port(cluster), 0}};
        cluster->layout.dr_node = (struct cluster_process){0, {cluster_free_port(cluster),
                                                        cluster_free_port(cluster), 0, 0}};
    }
    /* More nodes than it has: new ones, which join from node 0. */
    for (; cluster->layout.node_count < node_count; cluster->layout.node_count++) {
        for (uint32_t k = 0; k < 2; k++)
            cluster->layout.nodes[cluster->layout.node_count].ports[k] = cluster_free_port(cluster);
        cluster->layout.nodes[cluster->layout.node_count].pid = 0;
    }
    cluster_ports_release(cluster); /* the processes bind them now */
    cluster_urls(cluster);
    if (cluster_house_secret(cluster, house) != 0) {
        fprintf(stderr, "nodown cluster: cannot read or write %s/house.secret\n", cluster->dir);
        return 1;
    }
    if (cluster_start(cluster) != 0) {
        fprintf(stderr, "nodown cluster: not all up; 'nodown cluster status --dir %s' says "
                "which, 'down' stops the rest\n", cluster->dir);
        return 1;
    }
    printf("cluster up in %s: %u NATS servers (%s), %u nodes:", cluster->dir,
           cluster->layout.nats_count, cluster->urls, cluster->layout.node_count);
    for (uint32_t i = 0; i < cluster->layout.node_count; i++)
        printf("%s127.0.0.1:%u", i > 0 ? "," : " ", cluster->layout.nodes[i].ports[0]);
    if (cluster->layout.dr)
        printf("\nDR site: NATS nats://127.0.0.1:%u (mirror NODOWN_DR), node 127.0.0.1:%u",
               cluster->layout.dr_nats.ports[0], cluster->layout.dr_node.ports[0]);
    printf("\nhouse secret in %s/house.secret\n", cluster->dir);
    return 0;
}

/* Exits 0 only when every server, the stream and every node is up; 1
 * when any is down or unreachable, so that a script can check it. */
static int cluster_status(const struct cluster *cluster, bool json)
{
    printf(json ? "{\"nats\":[" : "");
    uint32_t down = cluster_status_nats(cluster, json);
    printf(json ? "]," : "");
    down += cluster_status_stream(cluster, json);
    printf(json ? ",\"nodes\":[" : "");
    down += cluster_status_nodes(cluster, json);
    printf(json ? "]" : "");
    if (cluster->layout.dr) {
        printf(json ? "," : "");
        down += cluster_status_dr(cluster, json);
    }
    printf(json ? ",\"down\":%u}\n" : "", down);
    if (down > 0)
        fprintf(stderr, "nodown cluster: %u down or unreachable (servers, stream, nodes)\n",
                down);
    return down > 0 ? 1 : 0;
}

static int cluster_down(const struct cluster *cluster)
{
    for (uint32_t i = 0; i < cluster->layout.node_count; i++)
        cluster_stop(cluster, cluster->layout.nodes[i].pid);
    if (cluster->layout.dr) {
        cluster_stop(cluster, cluster->layout.dr_node.pid);
        cluster_stop(cluster, cluster->layout.dr_nats.pid);
    }
    for (uint32_t i = 0; i < cluster->layout.nats_count; i++)
        cluster_stop(cluster, cluster->layout.nats[i].pid);
    printf("cluster down: %u nodes and %u NATS servers stopped%s; data kept in %s\n",
           cluster->layout.node_count, cluster->layout.nats_count,
           cluster->layout.dr ? ", and the DR site's server and node" : "", cluster->dir);
    return 0;
}

/* One spelling of the directory (made for up): the processes' command
 * lines name it, and that is how they are recognised (cluster_running). */
static int cluster_resolve_dir(struct cluster *cluster, bool make)
{
    static char dir[PATH_MAX]; /* what realpath may write */
    if (make && mkdir(cluster->dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "nodown cluster: %s: %s\n", cluster->dir, strerror(errno));
        return -1;
    }
    if (realpath(cluster->dir, dir) == NULL || strlen(dir) > CLUSTER_PATH_MAX - 64) {
        fprintf(stderr, "nodown cluster: %s: %s\n", cluster->dir,
                errno != 0 ? strerror(errno) : "path too long");
        return -1;
    }
    cluster->dir = dir;
    return 0;
}

int cluster_layout_load(const char *dir, struct cluster_layout *layout)
{
    static struct cluster cluster;
    memset(&cluster, 0, sizeof cluster);
    cluster.dir = dir;
    if (cluster_resolve_dir(&cluster, false) != 0 || cluster_load(&cluster) != 0)
        return -1;
    *layout = cluster.layout;
    return 0;
}

int cluster_nats_restart_on(const char *dir, uint32_t index, const char *binary, pid_t *pid)
{
    static struct cluster cluster;
    memset(&cluster, 0, sizeof cluster);
    cluster.dir = dir;
    if (cluster_resolve_dir(&cluster, false) != 0 || cluster_load(&cluster) != 0)
        return -1;
    bool dr = index == CLUSTER_NATS_DR;
    if ((dr && !cluster.layout.dr) || (!dr && index >= cluster.layout.nats_count) ||
        strlen(binary) >= CLUSTER_PATH_MAX)
        return -1;
    char config[CLUSTER_PATH_MAX], log[CLUSTER_PATH_MAX];
    snprintf(dr ? cluster.layout.dr_nats_binary : cluster.layout.nats_binary[index],
             CLUSTER_PATH_MAX, "%s", binary);
    /* The same file, but for what the binary supports (sync_interval). */
    if ((dr ? cluster_dr_nats_config(&cluster) : cluster_nats_config(&cluster, index)) != 0)
        return -1;
    cluster_path(&cluster, config, dr ? "dr-nats/nats.conf" : "nats-%u/nats.conf", index);
    cluster_path(&cluster, log, dr ? "dr-nats/log" : "nats-%u/log", index);
    char *argv[] = {(char *)binary, "-c", config, NULL};
    pid_t started = cluster_spawn(argv, log, NULL);
    if (started <= 0)
        return -1;
    *(dr ? &cluster.layout.dr_nats.pid : &cluster.layout.nats[index].pid) = started;
    *pid = started;
    return cluster_save(&cluster);
}

int cluster_dr_url(const char *dir, char *url, size_t size)
{
    struct cluster_layout layout;
    if (cluster_layout_load(dir, &layout) != 0 || !layout.dr)
        return -1;
    snprintf(url, size, "nats://127.0.0.1:%u", layout.dr_nats.ports[0]);
    return 0;
}

int cluster_run(const char *action, const struct cluster_options *options)
{
    static struct cluster cluster;
    cluster.dir = options->dir;
    cluster.self = options->self;
    memcpy(cluster.snapshot_mb, options->snapshot_mb, sizeof cluster.snapshot_mb);
    cluster.durability = options->durability;
    if (cluster_resolve_dir(&cluster, strcmp(action, "up") == 0) != 0)
        return 1;
    if (strcmp(action, "up") == 0)
        return cluster_up(&cluster, options->nats_count, options->node_count, options->dr,
                          options->house);
    if (cluster_load(&cluster) != 0) {
        fprintf(stderr, "nodown cluster: no cluster in %s (cluster.txt)\n", cluster.dir);
        return 1;
    }
    cluster_urls(&cluster);
    if (strcmp(action, "status") == 0)
        return cluster_status(&cluster, options->json);
    if (strcmp(action, "down") == 0)
        return cluster_down(&cluster);
    if (strcmp(action, "step-down") == 0)
        return cluster_step_down(&cluster, options->nats_index);
    if (strcmp(action, "trim") == 0)
        return cluster_trim(&cluster);
    if (strcmp(action, "nodes") == 0 || (strcmp(action, "forget") == 0 && options->node >= 0))
        return cluster_registry(&cluster, strcmp(action, "forget") == 0, options->node);
    if (strcmp(action, "restart") == 0 && options->nats_index >= 0)
        return cluster_restart_nats(&cluster, (uint32_t)options->nats_index);
    return CLUSTER_USAGE;
}

int cluster_node_pid_set(const char *dir, uint32_t index, pid_t pid)
{
    static struct cluster cluster;
    memset(&cluster, 0, sizeof cluster);
    cluster.dir = dir;
    if (cluster_resolve_dir(&cluster, false) != 0 || cluster_load(&cluster) != 0)
        return -1;
    if (index == CLUSTER_NODES_MAX && cluster.layout.dr)
        cluster.layout.dr_node.pid = pid;
    else if (index < cluster.layout.node_count)
        cluster.layout.nodes[index].pid = pid;
    else
        return -1;
    return cluster_save(&cluster);
}
