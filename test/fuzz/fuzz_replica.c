/* A deterministic simulation of the replica layer (src/replica/replica.h),
 * from seeds: the stream a node reads, delivered the way NATS and a
 * reconnecting reader can deliver it, to a replica that crashes and
 * restarts from its snapshots at random points.
 *
 *   fuzz_replica [--seed S] [--seeds N] [--dir D]
 *       runs seeds S .. S+N-1 (defaults: 1, 2000; D: /dev/shm, else /tmp)
 *
 * Each seed makes a stream of 20..60 batches: a set-up batch (a tree, an
 * instrument, cash, a day), then members' orders and cancels under two
 * client ids, with resends of earlier commands (the same client_seq) mixed
 * in, and an ACTIVATE_LOGIC 2 somewhere (the session window widens
 * mid-stream). A reference replica applies it in order and records the
 * digest after every sequence. The replica under test is then driven by
 * the seed, one action a step:
 *
 *   deliver   the next sequence: applied, and applied_seq moves by one;
 *   repeat    an older sequence (a redelivery): REPLICA_REPEAT, no change;
 *   gap       a later sequence (a lost message): ERR_REPLICA_GAP, no change;
 *   snapshot  written to disk at the applied sequence;
 *   tear      the newest snapshot file truncated or a byte flipped, or a
 *             half-written temporary file left behind (a crash while
 *             writing);
 *   crash     the replica dropped without a word, then reopened: it must
 *             come back at the newest intact snapshot (or empty), with
 *             that sequence's reference digest;
 *
 * In one seed of three the replica first runs as a build that stops at the
 * activation: delivering it stops the replica (ERR_LOGIC_UNSUPPORTED,
 * applied_seq unchanged), which then writes no snapshot; past a step
 * chosen by the seed, a restart is a build that runs it, and applies on.
 *
 * At the end it must hold the reference's last digest. Every check
 * that fails prints the seed and the step; "fuzz_replica --seed X
 * --seeds 1" replays it. The closing line counts the properties (enum
 * sim_property) over all seeds: "fuzz_replica: N passed, N failed".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/engine.h"
#include "core/snapshot.h"
#include "fixture.h"
#include "replica/replica.h"
#include "test_dir.h"

#define SIM_BATCHES_MAX 60u
#define SIM_COMMANDS_MAX 12u /* in one batch */
#define SIM_STEPS_MAX 2000u  /* bounds a seed's run */

struct sim {
    uint64_t random;
    uint64_t seed;
    uint32_t step;
    bool failed;
    char dir[256];
    /* The stream: batch i is sequence i + 1. */
    uint32_t batch_count;
    uint8_t *data[SIM_BATCHES_MAX];
    size_t size[SIM_BATCHES_MAX];
    struct digest reference[SIM_BATCHES_MAX + 1]; /* after sequence s; [0]: empty */
    /* Commands sent so far, for resends. */
    struct command sent[SIM_BATCHES_MAX * SIM_COMMANDS_MAX];
    uint32_t sent_count;
    uint64_t client_seq[2][2]; /* [member][client id] */
    uint64_t house_seq;
    /* One seed in three: the replica under test first runs a build that
     * stops at the activation (engine_logic_version_max_set to 1); from
     * uncap_step on, a restart is a build that runs it. */
    uint64_t activate_seq;
    bool capped;
    uint32_t uncap_step;
    /* Snapshot sequences written and not torn since. */
    uint64_t intact[SIM_STEPS_MAX];
    uint32_t intact_count;
};

static uint64_t sim_next(struct sim *sim)
{
    uint64_t x = sim->random;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    sim->random = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint32_t sim_below(struct sim *sim, uint32_t bound)
{
    return (uint32_t)(sim_next(sim) % bound);
}

/* What is checked; the closing line counts these, each failed when any
 * seed breaks it. */
enum sim_property {
    SIM_APPLY,   /* each sequence applied once, in order; repeats and gaps change nothing */
    SIM_RESTART, /* a restart is at the newest intact snapshot, in the reference's state */
    SIM_FINAL,   /* the end state is the reference's, and its invariants hold */
    SIM_RAN,     /* the simulation itself could do what it meant (files, snapshots) */
    SIM_PROPERTY_COUNT
};

static uint64_t sim_failures[SIM_PROPERTY_COUNT];
static uint64_t sim_stops; /* deliveries a stopped replica refused */

static void sim_fail(struct sim *sim, enum sim_property property, const char *what)
{
    if (!sim->failed) {
        printf("FAIL seed %" PRIu64 " step %u: %s (replay: fuzz_replica --seed %" PRIu64
               " --seeds 1)\n", sim->seed, sim->step, what, sim->seed);
        sim_failures[property]++;
    }
    sim->failed = true;
}

/* ---- The stream. ---- */

static struct command sim_house(struct sim *sim, enum command_type type)
{
    struct command c = fixture_command(type, 0);
    c.client_id = 1;
    c.client_seq = ++sim->house_seq;
    return c;
}

static void sim_batch_add(struct sim *sim, const struct command *commands, uint32_t count)
{
    uint32_t at = sim->batch_count++;
    size_t capacity = batch_encoded_size(commands, count);
    sim->data[at] = malloc(capacity);
    if (sim->data[at] == NULL ||
        batch_encode(1000000u * (at + 1), commands, count, sim->data[at], capacity,
                     &sim->size[at]) != 0)
        abort();
}

/* Accounts 1..3 super, master, agent; 4 and 5 members with cash and a
 * position; instrument 0; the day. */
static void sim_setup_batch(struct sim *sim)
{
    struct command c[9];
    uint32_t n = 0;
    for (uint8_t kind = ACCOUNT_KIND_SUPER; kind <= ACCOUNT_KIND_AGENT; kind++, n++) {
        c[n] = sim_house(sim, COMMAND_ACCOUNT_CREATE);
        c[n].u.account_create.parent_id = n;
        c[n].u.account_create.kind = kind;
    }
    for (uint32_t m = 0; m < 2; m++, n++) {
        c[n] = sim_house(sim, COMMAND_ACCOUNT_CREATE);
        c[n].u.account_create.parent_id = 3;
        c[n].u.account_create.kind = ACCOUNT_KIND_MEMBER;
    }
    c[n] = sim_house(sim, COMMAND_INSTRUMENT_CREATE);
    memcpy(c[n].u.instrument_create.symbol, "SIMU", 4);
    c[n].u.instrument_create.tick_size_minor = 1;
    c[n].u.instrument_create.lot_size = 1;
    c[n].u.instrument_create.reference_price_ticks = 1000;
    c[n++].u.instrument_create.band_bp = 1000;
    c[n] = sim_house(sim, COMMAND_CASH_DEPOSIT);
    c[n].u.cash.account_id = 4;
    c[n++].u.cash.amount_minor = 1000000000;
    c[n] = sim_house(sim, COMMAND_DAY_START);
    c[n++].u.day.trading_date = 20261123;
    sim_batch_add(sim, c, n);
    c[0] = sim_house(sim, COMMAND_POSITION_GRANT);
    c[0].u.position_grant.account_id = 5;
    c[0].u.position_grant.quantity = 1000000;
    sim_batch_add(sim, c, 1);
}

/* A member's new command: mostly an order, sometimes a cancel of an order
 * that may or may not exist. */
static struct command sim_member_command(struct sim *sim)
{
    uint32_t member = sim_below(sim, 2);
    uint32_t client = sim_below(sim, 2);
    struct command c;
    if (sim_below(sim, 5) == 0) {
        c = fixture_command(COMMAND_ORDER_CANCEL, 4 + member);
        c.u.order_cancel.order_id = 1 + sim_below(sim, 40);
    } else {
        c = fixture_command(COMMAND_ORDER_PLACE, 4 + member);
        c.u.order_place.side = member == 0 ? SIDE_BUY : SIDE_SELL;
        c.u.order_place.time_in_force = sim_below(sim, 3) == 0 ? TIF_IOC : TIF_GTC;
        c.u.order_place.price_ticks = 990 + sim_below(sim, 21);
        c.u.order_place.quantity = 1 + sim_below(sim, 9);
    }
    c.client_id = 10 + client;
    c.client_seq = ++sim->client_seq[member][client];
    return c;
}

static void sim_stream_build(struct sim *sim)
{
    sim_setup_batch(sim);
    uint32_t batches = 20 + sim_below(sim, SIM_BATCHES_MAX - 20 + 1);
    uint32_t activate_at = 2 + sim_below(sim, batches - 2);
    while (sim->batch_count < batches) {
        struct command c[SIM_COMMANDS_MAX];
        uint32_t n = 0;
        if (sim->batch_count == activate_at) {
            sim->activate_seq = activate_at + 1u;
            c[n] = sim_house(sim, COMMAND_ACTIVATE_LOGIC);
            c[n++].u.activate_logic.logic_version = 2;
        }
        uint32_t count = 1 + sim_below(sim, SIM_COMMANDS_MAX - 1);
        while (n < count) {
            /* A resend: a command already sent, with its client_seq. */
            if (sim->sent_count > 0 && sim_below(sim, 6) == 0) {
                c[n++] = sim->sent[sim->sent_count - 1 - sim_below(sim, sim->sent_count < 40
                                                                            ? sim->sent_count
                                                                            : 40)];
                continue;
            }
            c[n] = sim_member_command(sim);
            sim->sent[sim->sent_count++] = c[n++];
        }
        sim_batch_add(sim, c, n);
    }
}

/* ---- The replicas. ---- */

static void sim_limits(struct limits *limits)
{
    fixture_limits(limits);
}

static bool sim_digest_is(const struct replica *replica, const struct digest *expected)
{
    struct digest now;
    engine_digest(&replica->engine, &now);
    return now.high == expected->high && now.low == expected->low;
}

/* The reference: every batch in order, a digest after each. */
static bool sim_reference(struct sim *sim)
{
    static struct replica replica;
    char dir[300];
    char errmsg[256];
    struct limits limits;
    sim_limits(&limits);
    snprintf(dir, sizeof dir, "%s/reference", sim->dir);
    if (replica_open(&replica, dir, &limits, errmsg, sizeof errmsg) != 0)
        return false;
    engine_digest(&replica.engine, &sim->reference[0]);
    bool ok = true;
    for (uint32_t i = 0; ok && i < sim->batch_count; i++) {
        ok = replica_apply(&replica, i + 1, 1000u * (i + 1), sim->data[i], sim->size[i], NULL,
                           NULL) == 0;
        engine_digest(&replica.engine, &sim->reference[i + 1]);
    }
    ok = ok && engine_check(&replica.engine, errmsg, sizeof errmsg) == 0;
    replica_close(&replica);
    return ok;
}

static void sim_snapshot_path(const struct sim *sim, uint64_t seq, const char *prefix,
                              char *path, size_t size)
{
    snprintf(path, size, "%s/node/snapshots/%ssnapshot-%020" PRIu64 ".ndsf", sim->dir, prefix,
             seq);
}

/* A crash while or after writing: the newest snapshot cut short or with a
 * byte changed, or a temporary file left half written. */
static void sim_tear(struct sim *sim, uint64_t applied)
{
    char path[400];
    if (sim->intact_count == 0 || sim_below(sim, 3) == 0) {
        sim_snapshot_path(sim, applied, ".", path, sizeof path);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            uint8_t junk[64];
            memset(junk, 0xA5, sizeof junk);
            ssize_t written = write(fd, junk, 1 + sim_below(sim, sizeof junk));
            (void)written;
            close(fd);
        }
        return;
    }
    uint64_t seq = sim->intact[--sim->intact_count];
    sim_snapshot_path(sim, seq, "", path, sizeof path);
    struct stat st;
    if (stat(path, &st) != 0 || st.st_size < 2) {
        sim_fail(sim, SIM_RAN, "a snapshot written is missing");
        return;
    }
    if (sim_below(sim, 2) == 0) {
        if (truncate(path, (off_t)sim_below(sim, (uint32_t)st.st_size)) != 0)
            sim_fail(sim, SIM_RAN, "truncate");
        return;
    }
    int fd = open(path, O_RDWR);
    off_t at = (off_t)sim_below(sim, (uint32_t)st.st_size);
    uint8_t byte = 0;
    if (fd < 0 || pread(fd, &byte, 1, at) != 1) {
        sim_fail(sim, SIM_RAN, "read a snapshot byte");
    } else {
        byte ^= (uint8_t)(1u << sim_below(sim, 8));
        if (pwrite(fd, &byte, 1, at) != 1)
            sim_fail(sim, SIM_RAN, "write a snapshot byte");
    }
    if (fd >= 0)
        close(fd);
}

/* Crash and restart: back at the newest intact snapshot, or empty. */
static void sim_crash(struct sim *sim, struct replica *replica, const struct limits *limits)
{
    char dir[300];
    char errmsg[256];
    replica_close(replica);
    snprintf(dir, sizeof dir, "%s/node", sim->dir);
    if (replica_open(replica, dir, limits, errmsg, sizeof errmsg) != 0) {
        sim_fail(sim, SIM_RESTART, "reopen after a crash");
        return;
    }
    sim->capped = sim->capped && sim->step < sim->uncap_step;
    if (sim->capped && engine_logic_version_max_set(&replica->engine, 1) != 0)
        sim_fail(sim, SIM_RESTART, "a build that stops at the activation restarted past it");
    uint64_t expected = 0;
    for (uint32_t i = 0; i < sim->intact_count; i++)
        expected = sim->intact[i] > expected ? sim->intact[i] : expected;
    if (replica->applied_seq != expected) {
        char what[160];
        snprintf(what, sizeof what, "restarted at sequence %" PRIu64 ", the newest intact "
                 "snapshot is at %" PRIu64, replica->applied_seq, expected);
        sim_fail(sim, SIM_RESTART, what);
    }
    else if (!sim_digest_is(replica, &sim->reference[expected]))
        sim_fail(sim, SIM_RESTART,
                 "restarted with another state than the reference's at that sequence");
}

/* One action of the driver. Returns false when the stream is all applied. */
static bool sim_step(struct sim *sim, struct replica *replica, const struct limits *limits)
{
    uint64_t applied = replica->applied_seq;
    if (applied == sim->batch_count)
        return false;
    uint32_t roll = sim_below(sim, 100);
    char errmsg[256];
    if (replica->stopped_seq != 0 && sim->step >= sim->uncap_step) {
        sim_crash(sim, replica, limits); /* restarted on a build that runs it */
        return true;
    }
    if (roll < 55 && sim->capped && applied + 1 == sim->activate_seq) { /* it stops */
        int rv = replica_apply(replica, applied + 1, 1000u * (applied + 1), sim->data[applied],
                               sim->size[applied], NULL, NULL);
        if (rv != ERR_LOGIC_UNSUPPORTED || replica->applied_seq != applied ||
            replica->stopped_seq != applied + 1)
            sim_fail(sim, SIM_APPLY, "a build that cannot run the activation did not stop");
        sim_stops += replica->stopped_seq != 0;
    } else if (roll < 55) { /* deliver the next one */
        int rv = replica_apply(replica, applied + 1, 1000u * (applied + 1), sim->data[applied],
                               sim->size[applied], NULL, NULL);
        if (rv != 0 || replica->applied_seq != applied + 1)
            sim_fail(sim, SIM_APPLY, "the next sequence was not applied");
        else if (sim_below(sim, 4) == 0 &&
                 !sim_digest_is(replica, &sim->reference[applied + 1]))
            sim_fail(sim, SIM_APPLY, "a state differs from the reference's at its sequence");
    } else if (roll < 67) { /* a redelivery */
        if (applied > 0) {
            uint64_t seq = 1 + sim_below(sim, (uint32_t)applied);
            if (replica_apply(replica, seq, 1, sim->data[seq - 1], sim->size[seq - 1], NULL,
                              NULL) != REPLICA_REPEAT || replica->applied_seq != applied)
                sim_fail(sim, SIM_APPLY, "a repeat was not ignored");
        }
    } else if (roll < 77) { /* a message lost on the way */
        uint64_t seq = applied + 2 + sim_below(sim, 4);
        if (seq <= sim->batch_count &&
            (replica_apply(replica, seq, 1, sim->data[seq - 1], sim->size[seq - 1], NULL,
                           NULL) != ERR_REPLICA_GAP || replica->applied_seq != applied))
            sim_fail(sim, SIM_APPLY, "a gap was not refused");
    } else if (roll < 88 && replica->stopped_seq != 0) { /* a partial state: never written */
        if (replica_snapshot_write(replica, errmsg, sizeof errmsg) != ERR_LOGIC_UNSUPPORTED)
            sim_fail(sim, SIM_APPLY, "a stopped replica wrote a snapshot");
    } else if (roll < 88) {
        if (replica_snapshot_write(replica, errmsg, sizeof errmsg) != 0)
            sim_fail(sim, SIM_RAN, errmsg);
        else if (sim->intact_count == 0 || sim->intact[sim->intact_count - 1] != applied)
            sim->intact[sim->intact_count++] = applied;
    } else if (roll < 93) {
        sim_tear(sim, applied);
    } else {
        sim_crash(sim, replica, limits);
    }
    return true;
}

static bool sim_run(uint64_t seed, const char *base)
{
    static struct sim sim;
    memset(&sim, 0, sizeof sim);
    sim.seed = seed;
    sim.random = seed * 0x9E3779B97F4A7C15ull + 1;
    snprintf(sim.dir, sizeof sim.dir, "%s/nodown-sim-XXXXXX", base);
    if (mkdtemp(sim.dir) == NULL) {
        printf("FAIL seed %" PRIu64 ": mkdtemp: %s\n", seed, strerror(errno));
        return false;
    }
    sim_stream_build(&sim);
    if (!sim_reference(&sim))
        sim_fail(&sim, SIM_FINAL, "the reference did not apply the stream cleanly");
    static struct replica replica;
    struct limits limits;
    sim_limits(&limits);
    char dir[300];
    char errmsg[256];
    snprintf(dir, sizeof dir, "%s/node", sim.dir);
    sim.capped = sim_below(&sim, 3) == 0;
    sim.uncap_step = 50 + sim_below(&sim, SIM_STEPS_MAX / 4);
    if (!sim.failed && replica_open(&replica, dir, &limits, errmsg, sizeof errmsg) != 0)
        sim_fail(&sim, SIM_RAN, "open");
    if (!sim.failed && sim.capped && engine_logic_version_max_set(&replica.engine, 1) != 0)
        sim_fail(&sim, SIM_RAN, "cap at logic version 1");
    while (!sim.failed && sim.step < SIM_STEPS_MAX && sim_step(&sim, &replica, &limits))
        sim.step++;
    if (!sim.failed && replica.applied_seq != sim.batch_count)
        sim_fail(&sim, SIM_APPLY, "the stream was not all applied within the steps");
    if (!sim.failed && !sim_digest_is(&replica, &sim.reference[sim.batch_count]))
        sim_fail(&sim, SIM_FINAL, "the final state differs from the reference's");
    if (!sim.failed && engine_check(&replica.engine, errmsg, sizeof errmsg) != 0)
        sim_fail(&sim, SIM_FINAL, errmsg);
    replica_close(&replica);
    for (uint32_t i = 0; i < sim.batch_count; i++)
        free(sim.data[i]);
    test_dir_remove(sim.dir);
    return !sim.failed;
}

int main(int argc, char **argv)
{
    uint64_t seed = 1;
    uint64_t seeds = 2000;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seed") == 0)
            seed = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--seeds") == 0)
            seeds = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0)
            base = argv[i + 1];
    }
    /* Thousands of replicas are opened and closed: keep freed memory in
     * the heap (glibc's mallopt) rather than give it back and fault it in
     * again each time, which was four fifths of the run. */
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    /* Unusable snapshots are reported on stderr by the replica, as they
     * should be; here thousands are made on purpose. */
    if (freopen("/dev/null", "w", stderr) == NULL)
        return 1;
    uint64_t seeds_failed = 0;
    for (uint64_t i = 0; i < seeds; i++)
        seeds_failed += !sim_run(seed + i, base);
    uint32_t failed = 0;
    for (uint32_t k = 0; k < SIM_PROPERTY_COUNT; k++)
        failed += sim_failures[k] != 0;
    printf("seeds %" PRIu64 "..%" PRIu64 ": %" PRIu64 " failed; %" PRIu64 " deliveries refused "
           "by a replica stopped at an activation it could not run\n",
           seed, seed + seeds - 1, seeds_failed, sim_stops);
    printf("fuzz_replica: %u passed, %u failed\n", SIM_PROPERTY_COUNT - failed, failed);
    return failed == 0 ? 0 : 1;
}
