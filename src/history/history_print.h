/* `nodown history`'s rows as text, JSON lines or CSV. Each row is a list
 * of named fields (docs/history.md lists them per kind and type); text
 * prints "name=value" after the sequence, time and kind; JSON one object
 * a line; CSV one column per name any row can have, in a fixed order,
 * empty where a row has none. */
#ifndef NODOWN_HISTORY_HISTORY_PRINT_H
#define NODOWN_HISTORY_HISTORY_PRINT_H

#include <stdio.h>

#include "history/history_query.h"

enum history_format { HISTORY_TEXT = 0, HISTORY_JSON, HISTORY_CSV };

/* Before the first row (the CSV header). */
void history_print_begin(FILE *out, enum history_format format);
void history_print_row(FILE *out, enum history_format format, const struct history_row *row);

const char *history_event_type_name(uint32_t type);

#endif
