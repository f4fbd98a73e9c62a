/* `nodown verify`: are all replicas one state?
 *
 * Each node is asked, through its admin interface, for the digest of its
 * state and the invariant check at one stream sequence S (GET
 * /verify?at=S): a node stops applying at S for the time of the digest and
 * the check, then goes on (node/verify_at.c). S is chosen a little ahead of the
 * furthest node, so that no node is past it while the stream moves; on an
 * idle stream, where nobody would get there, it is the furthest node's
 * sequence. The digests are then compared: a node whose digest differs
 * from the most common one diverges, a check that is not "ok" is a broken
 * invariant, a node that does not answer or never reaches S is reported
 * too. Exit 0 when all agree and every check is ok, 1 otherwise, 2 on bad
 * usage.
 */
#include "ops/verify.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/admin_http.h"
#include "lib/clock.h"
#include "ops/cluster.h"

#define VERIFY_AHEAD 4u        /* messages ahead of the furthest node, times 16 a round */
#define VERIFY_IDLE_MS 1500    /* nobody reached S: the stream is idle */
#define VERIFY_ROUNDS_MAX 5u   /* a node past S: choose again */

/* One node of a local cluster: its name, admin port, DIR/NAME/admin.token. */
static void verify_add_layout_node(struct verify *verify, const char *dir, const char *name,
                                   const struct cluster_process *process)
{
    if (verify->count == VERIFY_NODES_MAX)
        return;
    struct verify_node *node = &verify->nodes[verify->count++];
    char path[600];
    snprintf(node->name, sizeof node->name, "%s", name);
    node->port = process->ports[1];
    snprintf(path, sizeof path, "%s/%s/admin.token", dir, name);
    admin_token_read(path, node->token, sizeof node->token);
}

/* The nodes of a local cluster, its DR site's too. */
int verify_add_cluster(struct verify *verify, const char *dir)
{
    struct cluster_layout layout;
    if (cluster_layout_load(dir, &layout) != 0) {
        fprintf(stderr, "nodown verify: no cluster in %s\n", dir);
        return -1;
    }
    char name[32];
    for (uint32_t i = 0; i < layout.node_count; i++) {
        snprintf(name, sizeof name, "node-%u", i);
        verify_add_layout_node(verify, dir, name, &layout.nodes[i]);
    }
    if (layout.dr)
        verify_add_layout_node(verify, dir, "dr-node", &layout.dr_node);
    return 0;
}

/* --node PORT:TOKENFILE, a node's admin interface on 127.0.0.1. */
int verify_add_node(struct verify *verify, const char *text)
{
    unsigned port = 0;
    int used = 0;
    if (verify->count == VERIFY_NODES_MAX || sscanf(text, "%u:%n", &port, &used) != 1 ||
        used == 0 || port == 0 || port > 65535)
        return -1;
    struct verify_node *node = &verify->nodes[verify->count++];
    snprintf(node->name, sizeof node->name, "127.0.0.1:%u", port);
    node->port = (uint16_t)port;
    admin_token_read(text + used, node->token, sizeof node->token);
    return node->token[0] != '\0' ? 0 : -1;
}

/* Asks every node not done yet about S. Returns how many are done. */
static uint32_t verify_ask(struct verify *verify)
{
    uint32_t done = 0;
    char path[64];
    snprintf(path, sizeof path, "/verify?at=%" PRIu64, verify->at);
    for (uint32_t i = 0; i < verify->count; i++) {
        struct verify_node *node = &verify->nodes[i];
        if (strcmp(node->state, "done") == 0) {
            done++;
            continue;
        }
        char body[1024];
        if (admin_http_get(node->port, path, node->token, body, sizeof body) != 0) {
            snprintf(node->state, sizeof node->state, "unreachable");
            continue;
        }
        char applied[24];
        admin_json_field(body, "state", node->state, sizeof node->state);
        admin_json_field(body, "applied_seq", applied, sizeof applied);
        admin_json_field(body, "digest", node->digest, sizeof node->digest);
        admin_json_field(body, "check", node->check, sizeof node->check);
        node->applied = strtoull(applied, NULL, 10);
        done += strcmp(node->state, "done") == 0;
    }
    return done;
}

static uint64_t verify_furthest(const struct verify *verify)
{
    uint64_t furthest = 0;
    for (uint32_t i = 0; i < verify->count; i++)
        furthest = verify->nodes[i].applied > furthest ? verify->nodes[i].applied : furthest;
    return furthest;
}

static bool verify_any(const struct verify *verify, const char *state)
{
    for (uint32_t i = 0; i < verify->count; i++) {
        if (strcmp(verify->nodes[i].state, state) == 0)
            return true;
    }
    return false;
}

/* Rounds of asking until every node is done at one S, or the time is up.
 * S is ahead of the furthest node while the stream moves; after a round
 * in which nobody reached it (an idle stream), it is the furthest node's. */
static void verify_collect(struct verify *verify)
{
    int64_t deadline_ms = clock_now_ms() + verify->timeout_ms;
    verify->at = 1; /* a first ask learns where everyone is */
    verify_ask(verify);
    bool idle = false;
    for (uint32_t round = 0; round < VERIFY_ROUNDS_MAX && clock_now_ms() < deadline_ms;
         round++) {
        /* Further ahead each round: a node past S means the stream
         * outran the ask (4, 64, 1024, 16384 messages ahead). */
        uint64_t ahead = (uint64_t)VERIFY_AHEAD << (4 * (round < 4 ? round : 3));
        verify->at = verify_furthest(verify) + (idle ? 0 : ahead);
        for (uint32_t i = 0; i < verify->count; i++)
            verify->nodes[i].state[0] = '\0';
        int64_t round_start_ms = clock_now_ms();
        idle = false;
        while (clock_now_ms() < deadline_ms) {
            if (verify_ask(verify) == verify->count || verify_any(verify, "past"))
                break;
            if (clock_now_ms() - round_start_ms > VERIFY_IDLE_MS &&
                !verify_any(verify, "done")) {
                idle = true;
                break;
            }
            clock_sleep_ms(20);
        }
        if (!idle && !verify_any(verify, "past"))
            return; /* all done, or the time is up */
    }
}

/* The digest most nodes have. */
static const char *verify_majority(const struct verify *verify)
{
    const char *best = "";
    uint32_t best_count = 0;
    for (uint32_t i = 0; i < verify->count; i++) {
        uint32_t count = 0;
        for (uint32_t k = 0; k < verify->count; k++)
            count += strcmp(verify->nodes[i].digest, verify->nodes[k].digest) == 0;
        if (verify->nodes[i].digest[0] != '\0' && count > best_count) {
            best = verify->nodes[i].digest;
            best_count = count;
        }
    }
    return best;
}

/* Prints the report; returns how many nodes are not as they should be. */
static uint32_t verify_report(const struct verify *verify)
{
    const char *majority = verify_majority(verify);
    FILE *out = verify->out != NULL ? verify->out : stdout;
    uint32_t bad = 0;
    if (verify->json)
        fprintf(out, "{\"at\":%" PRIu64 ",\"digest\":\"%s\",\"nodes\":[", verify->at, majority);
    else
        fprintf(out, "verify at stream sequence %" PRIu64 ":\n", verify->at);
    for (uint32_t i = 0; i < verify->count; i++) {
        const struct verify_node *node = &verify->nodes[i];
        const char *verdict = "ok";
        if (strcmp(node->state, "done") != 0)
            verdict = node->state[0] != '\0' ? node->state : "no answer";
        else if (strcmp(node->digest, majority) != 0)
            verdict = "DIVERGES";
        else if (strcmp(node->check, "ok") != 0)
            verdict = "INVARIANT BROKEN";
        bad += strcmp(verdict, "ok") != 0;
        if (verify->json)
            fprintf(out, "%s{\"name\":\"%s\",\"state\":\"%s\",\"applied_seq\":%" PRIu64
                   ",\"digest\":\"%s\",\"check\":\"%s\",\"verdict\":\"%s\"}",
                   i > 0 ? "," : "", node->name, node->state, node->applied, node->digest,
                   node->check, verdict);
        else
            fprintf(out, "  %-16s %-16s digest %s  check %s\n", node->name, verdict,
                   node->digest[0] ? node->digest : "-", node->check[0] ? node->check : "-");
    }
    if (verify->json)
        fprintf(out, "],\"ok\":%s}\n", bad == 0 ? "true" : "false");
    else
        fprintf(out, bad == 0 ? "all %u nodes agree, invariants hold\n"
                        : "%u of the nodes are not in the agreed state\n",
               bad == 0 ? verify->count : bad);
    return bad;
}

int verify_run(struct verify *verify)
{
    verify_collect(verify);
    return verify_report(verify) == 0 ? 0 : 1;
}
