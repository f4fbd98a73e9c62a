/* The rehearsal's outcomes compared and its report (rehearse_internal.h).
 * The two outcome files, of the same build without and with the
 * activation, list the same commands in the same order (the inserted
 * activation is in neither), so they are read side by side; from the
 * activation's message on, each command whose outcome differs counts in
 * the group of its command type, its two results and what else differs
 * (the outcome's id, its value, the number of events it emitted). */
#include "ops/rehearse_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct rehearse_line {
    uint64_t seq;
    uint32_t index;
    char command[32];
    char result[48];
    char id[24];
    char value[24];
    uint32_t events;
};

/* 1 with a line, 0 at the end, -1 on a line that does not parse. */
static int rehearse_line_read(FILE *file, struct rehearse_line *line)
{
    char text[256];
    if (fgets(text, sizeof text, file) == NULL)
        return 0;
    int got = sscanf(text, "%" SCNu64 " %u %31s %47s %23s %23s %u", &line->seq, &line->index,
                     line->command, line->result, line->id, line->value, &line->events);
    return got == 7 ? 1 : -1;
}

static void rehearse_group_add(struct rehearse *rehearse, const struct rehearse_line *before,
                               const struct rehearse_line *after, const char *fields)
{
    rehearse->difference_count++;
    struct rehearse_group *group = NULL;
    for (uint32_t i = 0; i < rehearse->group_count && group == NULL; i++) {
        struct rehearse_group *g = &rehearse->groups[i];
        if (strcmp(g->command, before->command) == 0 && strcmp(g->before, before->result) == 0 &&
            strcmp(g->after, after->result) == 0 && strcmp(g->fields, fields) == 0)
            group = g;
    }
    if (group == NULL && rehearse->group_count == REHEARSE_GROUPS_MAX) {
        rehearse->groups_dropped++;
        return;
    }
    if (group == NULL) {
        group = &rehearse->groups[rehearse->group_count++];
        memset(group, 0, sizeof *group);
        snprintf(group->command, sizeof group->command, "%s", before->command);
        snprintf(group->before, sizeof group->before, "%s", before->result);
        snprintf(group->after, sizeof group->after, "%s", after->result);
        snprintf(group->fields, sizeof group->fields, "%s", fields);
    }
    if (group->count < REHEARSE_GROUP_SEQS_MAX)
        group->seqs[group->count] = before->seq;
    group->count++;
}

static void rehearse_line_compare(struct rehearse *rehearse, const struct rehearse_line *before,
                                  const struct rehearse_line *after)
{
    char fields[32] = "";
    if (strcmp(before->result, after->result) != 0) {
        strcpy(fields, "result");
    } else {
        if (strcmp(before->id, after->id) != 0)
            strcat(fields, "id,");
        if (strcmp(before->value, after->value) != 0)
            strcat(fields, "value,");
        if (before->events != after->events)
            strcat(fields, "events,");
        if (fields[0] == '\0')
            return;
        fields[strlen(fields) - 1] = '\0';
    }
    rehearse_group_add(rehearse, before, after, fields);
}

int rehearse_diff(struct rehearse *rehearse, const char *before_path, const char *after_path)
{
    FILE *before = fopen(before_path, "r");
    FILE *after = fopen(after_path, "r");
    char header[2][64] = {"", ""};
    int rv = -1;
    if (before == NULL || after == NULL || fgets(header[0], sizeof header[0], before) == NULL ||
        fgets(header[1], sizeof header[1], after) == NULL ||
        strcmp(header[0], "nodown-outcomes 1\n") != 0 || strcmp(header[0], header[1]) != 0)
        goto done;
    uint64_t from = rehearse->activated.activation_seq;
    struct rehearse_line b, a;
    for (;;) {
        int got_b = rehearse_line_read(before, &b);
        int got_a = rehearse_line_read(after, &a);
        if (got_b != got_a || got_b < 0)
            goto done; /* one ends first, or a line that does not parse */
        if (got_b == 0)
            break;
        if (b.seq != a.seq || b.index != a.index)
            goto done; /* not the same commands: the files are not of one history */
        if (b.seq >= from)
            rehearse_line_compare(rehearse, &b, &a);
    }
    rv = 0;
done:
    if (before != NULL)
        fclose(before);
    if (after != NULL)
        fclose(after);
    return rv;
}

static void rehearse_json_replay(const struct rehearse_replay *replay, const char *comma)
{
    printf("\"%s\":{\"binary\":\"%s\",\"release\":\"%s\",\"mode\":\"%s\",\"ok\":%s", replay->name,
           replay->binary, replay->release, replay->by_serve ? "serve" : "replay",
           replay->ok ? "true" : "false");
    if (!replay->ok)
        printf(",\"error\":\"%s\"", replay->error);
    printf(",\"commands\":%" PRIu64 ",\"commands_per_s\":%.0f,\"logic_start\":%u,"
           "\"logic_end\":%u,\"stopped_seq\":%" PRIu64 ",\"final_digest\":\"%s\"",
           replay->commands, replay->commands_per_s, replay->logic_start, replay->logic_end,
           replay->stopped_seq,
           replay->checkpoint_count > 0 ? replay->checkpoint_digests[replay->checkpoint_count - 1]
                                        : "");
    if (replay->activation_version != 0)
        printf(",\"activation\":{\"version\":%u,\"seq\":%" PRIu64 ",\"result\":\"%s\","
               "\"migration_us\":%.1f}",
               replay->activation_version, replay->activation_seq, replay->activation_result,
               replay->migration_us);
    printf("}%s", comma);
}

static void rehearse_json(const struct rehearse *rehearse)
{
    printf("{\"snapshot_seq\":%" PRIu64 ",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64
           ",\"messages\":%" PRIu64 ",\"replays\":{",
           rehearse->snapshot_seq, rehearse->first_seq, rehearse->last_seq, rehearse->messages);
    rehearse_json_replay(&rehearse->old, ",");
    rehearse_json_replay(&rehearse->new, ",");
    rehearse_json_replay(&rehearse->activated, "},\n");
    printf("\"same_logic\":{\"compared\":%s,\"equal\":%s,\"checkpoints_equal\":%u,"
           "\"final_only\":%s,\"divergence_seq\":%" PRIu64 "},\n",
           rehearse->compared ? "true" : "false", rehearse->equal ? "true" : "false",
           rehearse->checkpoints_equal, rehearse->old.by_serve ? "true" : "false",
           rehearse->divergence_seq);
    printf("\"difference_count\":%" PRIu64 ",\"groups_dropped\":%" PRIu64 ",\"differences\":[",
           rehearse->difference_count, rehearse->groups_dropped);
    for (uint32_t i = 0; i < rehearse->group_count; i++) {
        const struct rehearse_group *group = &rehearse->groups[i];
        printf("%s\n{\"command\":\"%s\",\"before\":\"%s\",\"after\":\"%s\",\"differs\":\"%s\","
               "\"count\":%" PRIu64 ",\"seqs\":[",
               i > 0 ? "," : "", group->command, group->before, group->after, group->fields,
               group->count);
        for (uint64_t k = 0; k < group->count && k < REHEARSE_GROUP_SEQS_MAX; k++)
            printf("%s%" PRIu64, k > 0 ? "," : "", group->seqs[k]);
        printf("]}");
    }
    printf("]}\n");
}

static void rehearse_text_replay(const struct rehearse_replay *replay)
{
    printf("  %-9s %s (%s)", replay->name, replay->binary,
           replay->release[0] ? replay->release : "?");
    if (!replay->ok) {
        printf(": %s\n", replay->error);
        return;
    }
    if (replay->by_serve)
        printf(": no replay in this build, its serve on a copy: final digest only\n");
    else
        printf(": logic %u -> %u, %" PRIu64 " commands, %.0f commands/s\n", replay->logic_start,
               replay->logic_end, replay->commands, replay->commands_per_s);
    if (replay->stopped_seq != 0)
        printf("            stopped at %" PRIu64 ": a logic version it cannot run\n",
               replay->stopped_seq);
    if (replay->activation_version != 0)
        printf("            ACTIVATE_LOGIC %u before %" PRIu64 ": %s, migration %.1f us\n",
               replay->activation_version, replay->activation_seq, replay->activation_result,
               replay->migration_us);
}

static void rehearse_text(const struct rehearse *rehearse)
{
    printf("rehearsal: snapshot at %" PRIu64 ", stream %" PRIu64 "..%" PRIu64 " (%" PRIu64
           " messages)\n",
           rehearse->snapshot_seq, rehearse->first_seq, rehearse->last_seq, rehearse->messages);
    rehearse_text_replay(&rehearse->old);
    rehearse_text_replay(&rehearse->new);
    rehearse_text_replay(&rehearse->activated);
    if (!rehearse->compared)
        printf("old and new: not compared\n");
    else if (rehearse->equal)
        printf("old and new at the same logic: equal digests at %u checkpoint%s%s\n",
               rehearse->checkpoints_equal, rehearse->checkpoints_equal == 1 ? "" : "s",
               rehearse->old.by_serve ? " (the final one only: old ran as a node)" : "");
    else if (rehearse->old.by_serve)
        printf("old and new DIVERGE: their final digests differ (at %" PRIu64 ")\n",
               rehearse->divergence_seq);
    else if (rehearse->divergence_seq != 0)
        printf("old and new DIVERGE: first at stream sequence %" PRIu64 "\n",
               rehearse->divergence_seq);
    else
        printf("old and new DIVERGE: one stopped where the other did not\n");
    printf("differences after the activation: %" PRIu64 " command%s in %u group%s\n",
           rehearse->difference_count, rehearse->difference_count == 1 ? "" : "s",
           rehearse->group_count, rehearse->group_count == 1 ? "" : "s");
    for (uint32_t i = 0; i < rehearse->group_count; i++) {
        const struct rehearse_group *group = &rehearse->groups[i];
        printf("  %-20s %s -> %s", group->command, group->before, group->after);
        if (strcmp(group->fields, "result") != 0)
            printf(" (%s differ)", group->fields);
        printf(": %" PRIu64 ", at", group->count);
        for (uint64_t k = 0; k < group->count && k < REHEARSE_GROUP_SEQS_MAX; k++)
            printf(" %" PRIu64, group->seqs[k]);
        printf("%s\n", group->count > REHEARSE_GROUP_SEQS_MAX ? " ..." : "");
    }
    if (rehearse->groups_dropped > 0)
        printf("  and %" PRIu64 " more in groups past the first %u\n", rehearse->groups_dropped,
               REHEARSE_GROUPS_MAX);
}

void rehearse_report(const struct rehearse *rehearse)
{
    if (rehearse->config->json)
        rehearse_json(rehearse);
    else
        rehearse_text(rehearse);
}
