/* `nodown history`: questions to the archive's files (src/history/). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/result.h"
#include "history/archive.h"
#include "history/history_print.h"
#include "history/history_query.h"


static void history_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown history --data DIR QUESTION [ID] [--day DATE | --from DATE]\n"
            "                      [--to DATE] [--limit N] [--json | --csv]\n"
            "       nodown history --archive HISTORY_DIR QUESTION [ID] ...\n"
            "  Answers from a node's archive (serve --archive: DIR/history), without the\n"
            "  node: read-only, the open day read beside its writer. Questions:\n"
            "    statement ACCOUNT  its commands, events and balances\n"
            "    order ORDER        an order's life: placed, traded, replaced, done\n"
            "    bet BET            a bet's life: placed, accepted, settled, commission\n"
            "    trades INSTRUMENT  every trade of an instrument\n"
            "    market MARKET      a market's commands, odds, bets and settlement\n"
            "    downline ACCOUNT   what the accounts under it did, one line an account\n"
            "                       and day (orders, trades, bets, stakes, balance)\n"
            "    at SEQ             everything one stream message changed\n"
            "    files              the day files: sequences, format, checksum (exit 1\n"
            "                       when a closed day's file does not match its checksum)\n"
            "  DATE is YYYY-MM-DD or YYYYMMDD (a trading day); --day D is --from D --to D.\n"
            "  Text by default: sequence, time (UTC), row kind, then name=value fields;\n"
            "  --json one object a line, --csv one column a field (docs/history.md).\n");
}

struct history_options {
    const char *dir;
    char dir_buffer[600];
    const char *question;
    struct history_question_args args;
    enum history_format format;
    bool has_id;
};

static int history_date(const char *text, uint32_t *date)
{
    unsigned year = 0, month = 0, day = 0;
    if ((sscanf(text, "%4u-%2u-%2u", &year, &month, &day) != 3 &&
         sscanf(text, "%4u%2u%2u", &year, &month, &day) != 3) ||
        year < 1970 || month < 1 || month > 12 || day < 1 || day > 31) {
        fprintf(stderr, "nodown history: '%s' is not a date (YYYY-MM-DD)\n", text);
        return -1;
    }
    *date = year * 10000 + month * 100 + day;
    return 0;
}

static int history_number(const char *text, uint64_t *value)
{
    char *end = NULL;
    *value = strtoull(text, &end, 10);
    if (end == text || *end != '\0' || text[0] == '-') {
        fprintf(stderr, "nodown history: '%s' is not a number\n", text);
        return -1;
    }
    return 0;
}

/* One option (and its value); returns how many arguments it took, or -1. */
static int history_option(struct history_options *o, int argc, char **argv, int i)
{
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "--csv") == 0) {
        o->format = argv[i][2] == 'j' ? HISTORY_JSON : HISTORY_CSV;
        return 1;
    }
    if (value == NULL) {
        fprintf(stderr, "nodown history: %s needs a value\n", argv[i]);
        return -1;
    }
    int rv = 0;
    if (strcmp(argv[i], "--data") == 0) {
        snprintf(o->dir_buffer, sizeof o->dir_buffer, "%s/%s", value, ARCHIVE_DIR);
        o->dir = o->dir_buffer;
    } else if (strcmp(argv[i], "--archive") == 0) {
        o->dir = value;
    } else if (strcmp(argv[i], "--day") == 0) {
        rv = history_date(value, &o->args.from_date);
        o->args.to_date = o->args.from_date;
    } else if (strcmp(argv[i], "--from") == 0) {
        rv = history_date(value, &o->args.from_date);
    } else if (strcmp(argv[i], "--to") == 0) {
        rv = history_date(value, &o->args.to_date);
    } else if (strcmp(argv[i], "--limit") == 0) {
        rv = history_number(value, &o->args.limit);
    } else {
        fprintf(stderr, "nodown history: unknown option '%s'\n", argv[i]);
        return -1;
    }
    return rv == 0 ? 2 : -1;
}

static int history_parse(int argc, char **argv, struct history_options *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < argc;) {
        if (strncmp(argv[i], "--", 2) == 0) {
            int taken = history_option(o, argc, argv, i);
            if (taken < 0)
                return -1;
            i += taken;
        } else if (o->question == NULL) {
            o->question = argv[i++];
        } else if (!o->has_id) {
            if (history_number(argv[i++], &o->args.id) != 0)
                return -1;
            o->has_id = true;
        } else {
            fprintf(stderr, "nodown history: one question at a time ('%s'?)\n", argv[i]);
            return -1;
        }
    }
    if (o->dir == NULL || o->question == NULL) {
        fprintf(stderr, "nodown history: %s\n", o->dir == NULL ? "give --data DIR or --archive"
                                                               : "which question?");
        return -1;
    }
    return 0;
}

static int history_print_cb(void *context, const struct history_row *row)
{
    const struct history_options *o = context;
    history_print_row(stdout, o->format, row);
    return ferror(stdout) ? 1 : 0;
}

struct history_files_state {
    enum history_format format;
    bool damaged;
};

static int history_file_print(void *context, const struct history_file_info *info)
{
    struct history_files_state *state = context;
    state->damaged = state->damaged || !info->checksum_ok;
    const char *check = !info->sealed ? "open" : info->checksum_ok ? "ok" : "DAMAGED";
    if (state->format == HISTORY_JSON)
        printf("{\"file\":\"%s\",\"trading_date\":%u,\"first_seq\":%" PRIu64 ",\"last_seq\":%"
               PRIu64 ",\"format_version\":%u,\"sealed\":%s,\"checksum\":\"%s\",\"bytes\":%"
               PRIu64 "}\n", info->name, info->trading_date, info->first_seq, info->last_seq,
               info->format_version, info->sealed ? "true" : "false", check, info->bytes);
    else
        printf("%-24s day %08u  seq %" PRIu64 "..%" PRIu64 "  format %u  %s  %" PRIu64
               " bytes%s%s\n", info->name, info->trading_date, info->first_seq, info->last_seq,
               info->format_version, check, info->bytes, info->checksum_ok ? "" : ": ",
               info->checksum_ok ? "" : info->checksum_error);
    return 0;
}

int history_main(int argc, char **argv)
{
    if (argc > 0 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        history_usage(stdout);
        return 0;
    }
    struct history_options o;
    if (history_parse(argc, argv, &o) != 0) {
        history_usage(stderr);
        return 2;
    }
    char errmsg[700];
    if (strcmp(o.question, "files") == 0) {
        struct history_files_state state = {.format = o.format};
        if (history_files(o.dir, history_file_print, &state, errmsg, sizeof errmsg) != 0) {
            fprintf(stderr, "nodown history: %s\n", errmsg);
            return 1;
        }
        return state.damaged ? 1 : 0;
    }
    enum history_question question;
    if (history_question_from_name(o.question, &question) != 0) {
        fprintf(stderr, "nodown history: no question '%s' (nodown history --help)\n", o.question);
        return 2;
    }
    if (!o.has_id) {
        fprintf(stderr, "nodown history: %s needs an id\n", o.question);
        return 2;
    }
    o.args.question = question;
    history_print_begin(stdout, o.format);
    uint64_t rows = 0;
    int rv = history_ask(o.dir, &o.args, history_print_cb, &o, &rows, errmsg, sizeof errmsg);
    if (rv != 0) {
        fprintf(stderr, "nodown history: %s\n", errmsg);
        return 1;
    }
    fflush(stdout); /* the rows before their count, on one terminal */
    if (o.format == HISTORY_TEXT)
        fprintf(stderr, "%" PRIu64 " row%s\n", rows, rows == 1 ? "" : "s");
    return 0;
}
