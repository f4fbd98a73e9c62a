/* The nodown command: one binary, one subcommand per job. Each subcommand
 * answers --help; unknown words get a clear error and exit code 2. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/bench_export.h"
#include "cli/cli.h"
#include "cli/export.h"
#include "cli/rehearse.h"
#include "replica/nats_supervisor.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: nodown <command> [options]\n"
            "\n"
            "commands:\n"
            "  serve         run a node: the stream, the replica, the gateway, the admin\n"
            "  client        send a command or a query to a cluster (nodown client --help)\n"
            "  simulate      drive a small market through running nodes\n"
            "  cluster       a local cluster: up, status, down, step-down, restart, trim\n"
            "  verify        check that every node holds the same state\n"
            "  promote       make the disaster-recovery site primary\n"
            "  demo          run a brokerage and sportsbook day through the trading core\n"
            "  bench core    benchmark the matching core (--workload liquibook|mix)\n"
            "  bench node    benchmark a whole node: acknowledged orders/s, latency, replay\n"
            "  bench cluster benchmark a local cluster: orders/s, latency, a leader step-down\n"
            "  bench activation  time ACTIVATE_LOGIC 3's migration over a large state\n"
            "  bench history the archive's events/s and `nodown history`'s answer times\n"
            "  bench backup  backup MB/s and pauses under load, restore time\n"
            "  bench fix     benchmark the FIX 4.4 acceptor: orders/s, ack latency\n"
            "  upgrade       replace running nodes by a new build, clients not waiting\n"
            "  drill         the whole upgrade of a local cluster under load, measured\n"
            "  version       print the build's format and logic versions\n"
            "  export        export to PostgreSQL, exactly once (nodown export --help)\n"
            "  bench export  benchmark the PostgreSQL export: events/s, lag at half load\n"
            "  bench live    the live feed to 1 000 subscribers: updates/s, latency\n"
            "  rehearse      replay a node's history with a new build, before upgrading\n"
            "  replay        a snapshot and a stream copy through this build (rehearse)\n"
            "  history       ask a node's archive: statements, lives, trades, downlines\n"
            "  backup        a running node's state and log, checked, compressed (verify)\n"
            "  restore       a new node or local cluster from a backup\n"
            "\n"
            "Run 'nodown <command> --help' for a command's options.\n");
}

/* `nodown bench --help`: the three benchmarks and their workloads. */
static void bench_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown bench core|node|cluster|activation|history|export|backup|live|fix\n"
            "       [options]\n"
            "       ('nodown bench WHICH --help')\n"
            "  core     the matching core alone, one thread, no I/O; workloads\n"
            "           (--workload): liquibook (Liquibook's perf-test stream, the\n"
            "           default) and mix (exchange-core's 82%% move, 9%% GTC, 6%% cancel,\n"
            "           3%% IOC)\n"
            "  node     a whole node on embedded NATS: acknowledged orders/s and ack\n"
            "           latency at full and half load, replay speed, snapshot pauses;\n"
            "           --hostile adds idle connections, wrong logons and dripping HTTP\n"
            "  cluster  3 NATS servers and N nodes: orders/s and latency in six phases,\n"
            "           a leader step-down among them\n"
            "  activation  ACTIVATE_LOGIC 3's migration pause over N resting orders and\n"
            "           N open bets\n"
            "  history  the history archive's events/s on a synthetic day, and the time\n"
            "           of each `nodown history` question on it\n"
            "  export   the PostgreSQL export: events/s into a local PostgreSQL, and its\n"
            "           lag at half that load\n"
            "  backup   a backup of a large state under load: MB/s, the node's pauses,\n"
            "           restore seconds\n"
            "  fix      the FIX 4.4 acceptor: orders/s acknowledged by ExecutionReport and\n"
            "           their latency, with the project's FIX driver (and QuickFIX's)\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *command = argv[1];
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
        strcmp(command, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(command, "verify") == 0)
        return verify_main(argc - 2, argv + 2);
    if (strcmp(command, "cluster") == 0)
        return cluster_main(argc - 2, argv + 2);
    if (strcmp(command, "promote") == 0)
        return promote_main(argc - 2, argv + 2);
    if (strcmp(command, "simulate") == 0)
        return simulate_main(argc - 2, argv + 2);
    if (strcmp(command, "serve") == 0)
        return serve_main(argc - 2, argv + 2);
    if (strcmp(command, "upgrade") == 0)
        return upgrade_main(argc - 2, argv + 2);
    if (strcmp(command, "backup") == 0)
        return backup_main(argc - 2, argv + 2);
    if (strcmp(command, "restore") == 0)
        return restore_main(argc - 2, argv + 2);
    if (strcmp(command, "drill") == 0)
        return drill_main(argc - 2, argv + 2);
    if (strcmp(command, "nats-keeper") == 0) /* a node handing over execs it (not listed) */
        return nats_supervisor_keeper_main(argc - 2, argv + 2);
    if (strcmp(command, "client") == 0)
        return client_main(argc - 2, argv + 2);
    if (strcmp(command, "export") == 0)
        return export_main(argc - 2, argv + 2);
    if (strcmp(command, "demo") == 0)
        return demo_main(argc - 2, argv + 2);
    if (strcmp(command, "version") == 0)
        return version_main(argc - 2, argv + 2);
    if (strcmp(command, "history") == 0)
        return history_main(argc - 2, argv + 2);
    if (strcmp(command, "rehearse") == 0 || strcmp(command, "replay") == 0)
        return (command[2] == 'h' ? rehearse_main : replay_main)(argc - 2, argv + 2);
    if (strcmp(command, "bench") == 0) {
        if (argc >= 3 && strcmp(argv[2], "core") == 0)
            return bench_core_main(argc - 3, argv + 3);
        if (argc >= 3 && strcmp(argv[2], "node") == 0)
            return bench_node_main(argc - 3, argv + 3);
        if (argc >= 3 && strcmp(argv[2], "cluster") == 0)
            return bench_cluster_main(argc - 3, argv + 3);
        if (argc >= 3 && strcmp(argv[2], "activation") == 0)
            return bench_activation_main(argc - 3, argv + 3);
        if (argc >= 3 && strcmp(argv[2], "history") == 0)
            return bench_history_main(argc - 3, argv + 3);
        if (argc >= 3 && strcmp(argv[2], "export") == 0)
            return bench_export_main(argc - 3, argv + 3);
        if (argc >= 3 && strcmp(argv[2], "live") == 0)
            return bench_live_main(argc - 3, argv + 3);
        if (argc >= 3 && strcmp(argv[2], "backup") == 0)
            return bench_backup_main(argc - 3, argv + 3);
        if (argc >= 3 && strcmp(argv[2], "fix") == 0)
            return bench_fix_main(argc - 3, argv + 3);
        bool help = argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0 ||
                                  strcmp(argv[2], "help") == 0);
        bench_usage(help ? stdout : stderr);
        return help ? 0 : 2;
    }
    fprintf(stderr, "nodown: unknown command '%s'\n\n", command);
    usage(stderr);
    return 2;
}
