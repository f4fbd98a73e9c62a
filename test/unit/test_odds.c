/* Unit tests for core/odds: the odds_milli <-> display conversions.
 *
 * A hand-checked table pins the text and the converted-back price of a
 * few prices in every format, so that the rounding direction cannot drift;
 * an exhaustive pass then walks every odds_milli in range through every
 * format (display, text, parse, back to milli) and checks the round-trip
 * bounds that docs/odds.md promises; the rest covers the errors.
 */
#include "test.h"

#include "core/odds.h"

#include <stdint.h>

/* Stands in a table for "odds_milli_from_display returns ODDS_ERR_RANGE". */
#define BACK_RANGE ODDS_ERR_RANGE

struct odds_row {
    int64_t odds_milli;
    const char *text[ODDS_FORMAT_COUNT];
    int64_t back_milli[ODDS_FORMAT_COUNT];
};

/* Columns: decimal, Hong Kong, Malay, Indonesian, American, fractional.
 * Every entry was worked out by hand with h = odds_milli - 1000: positive
 * values are floor(h / 10) hundredths; reciprocal values are
 * -ceil(100000 / h); converting -m back gives floor(100000 / m). */
static const struct odds_row odds_table[] = {
    {2150, {"2.15", "1.15", "-0.87", "1.15", "+115", "23/20"},
     {2150, 2150, 2149, 2150, 2150, 2150}},
    {1500, {"1.50", "0.50", "0.50", "-2.00", "-200", "1/2"},
     {1500, 1500, 1500, 1500, 1500, 1500}},
    {2000, {"2.00", "1.00", "1.00", "1.00", "+100", "1/1"},
     {2000, 2000, 2000, 2000, 2000, 2000}},
    {1909, {"1.90", "0.90", "0.90", "-1.11", "-111", "909/1000"},
     {1900, 1900, 1900, 1900, 1900, 1909}},
    {1001, {"1.00", "0.00", "0.00", "-1000.00", "-100000", "1/1000"},
     {BACK_RANGE, BACK_RANGE, BACK_RANGE, 1001, 1001, 1001}},
    {1009, {"1.00", "0.00", "0.00", "-111.12", "-11112", "9/1000"},
     {BACK_RANGE, BACK_RANGE, BACK_RANGE, 1008, 1008, 1009}},
    {1010, {"1.01", "0.01", "0.01", "-100.00", "-10000", "1/100"},
     {1010, 1010, 1010, 1010, 1010, 1010}},
    {1000000, {"1000.00", "999.00", "-0.01", "999.00", "+99900", "999/1"},
     {1000000, 1000000, 101000, 1000000, 1000000, 1000000}},
    {101000, {"101.00", "100.00", "-0.01", "100.00", "+10000", "100/1"},
     {101000, 101000, 101000, 101000, 101000, 101000}},
    {3333, {"3.33", "2.33", "-0.43", "2.33", "+233", "2333/1000"},
     {3330, 3330, 3325, 3330, 3330, 3333}},
    {1850, {"1.85", "0.85", "0.85", "-1.18", "-118", "17/20"},
     {1850, 1850, 1850, 1847, 1847, 1850}},
    {2001, {"2.00", "1.00", "-1.00", "1.00", "+100", "1001/1000"},
     {2000, 2000, 2000, 2000, 2000, 2001}},
    {1999, {"1.99", "0.99", "0.99", "-1.01", "-101", "999/1000"},
     {1990, 1990, 1990, 1990, 1990, 1999}},
    {1990, {"1.99", "0.99", "0.99", "-1.02", "-102", "99/100"},
     {1990, 1990, 1990, 1980, 1980, 1990}},
    {1980, {"1.98", "0.98", "0.98", "-1.03", "-103", "49/50"},
     {1980, 1980, 1980, 1970, 1970, 1980}},
    {11000, {"11.00", "10.00", "-0.10", "10.00", "+1000", "10/1"},
     {11000, 11000, 11000, 11000, 11000, 11000}},
    {1333, {"1.33", "0.33", "0.33", "-3.01", "-301", "333/1000"},
     {1330, 1330, 1330, 1332, 1332, 1333}},
    {4000, {"4.00", "3.00", "-0.34", "3.00", "+300", "3/1"},
     {4000, 4000, 3941, 4000, 4000, 4000}},
    {1125, {"1.12", "0.12", "0.12", "-8.00", "-800", "1/8"},
     {1120, 1120, 1120, 1125, 1125, 1125}},
    {1667, {"1.66", "0.66", "0.66", "-1.50", "-150", "667/1000"},
     {1660, 1660, 1660, 1666, 1666, 1667}},
};

#define ODDS_TABLE_ROWS (sizeof odds_table / sizeof odds_table[0])

/* The largest o - b over the whole range, per format, as documented in
 * docs/odds.md; the exhaustive test checks that each is reached. */
static const int64_t round_trip_bound_milli[ODDS_FORMAT_COUNT] = {
    9, 9, 899000, 10, 10, 0,
};

static int display_equal(const struct odds_display *a,
                         const struct odds_display *b)
{
    return a->format == b->format && a->value == b->value &&
           a->numerator == b->numerator && a->denominator == b->denominator;
}

TEST(odds_table_text_and_back)
{
    for (size_t row = 0; row < ODDS_TABLE_ROWS; row++) {
        const struct odds_row *entry = &odds_table[row];
        for (int f = 0; f < ODDS_FORMAT_COUNT; f++) {
            struct odds_display display;
            struct odds_display parsed;
            char text[ODDS_TEXT_SIZE_MAX];
            int64_t back = 0;
            CHECK_EQ_I64(odds_display_from_milli((enum odds_format)f,
                                                 entry->odds_milli, &display),
                         0);
            CHECK_EQ_I64(odds_display_format(&display, text, sizeof text), 0);
            CHECK_STR(text, entry->text[f]);
            CHECK_EQ_I64(odds_display_parse((enum odds_format)f, text,
                                            &parsed),
                         0);
            CHECK(display_equal(&display, &parsed));
            int rc = odds_milli_from_display(&parsed, &back);
            if (entry->back_milli[f] == BACK_RANGE) {
                CHECK_EQ_I64(rc, ODDS_ERR_RANGE);
            } else {
                CHECK_EQ_I64(rc, 0);
                CHECK_EQ_I64(back, entry->back_milli[f]);
            }
        }
    }
}

TEST(odds_table_display_fields)
{
    struct odds_display display;
    CHECK_EQ_I64(odds_display_from_milli(ODDS_FORMAT_MALAY, 2150, &display),
                 0);
    CHECK_EQ_I64(display.format, ODDS_FORMAT_MALAY);
    CHECK_EQ_I64(display.value, -87);
    CHECK_EQ_I64(display.numerator, 0);
    CHECK_EQ_I64(display.denominator, 0);
    CHECK_EQ_I64(odds_display_from_milli(ODDS_FORMAT_FRACTIONAL, 2150,
                                         &display),
                 0);
    CHECK_EQ_I64(display.value, 0);
    CHECK_EQ_I64(display.numerator, 23);
    CHECK_EQ_I64(display.denominator, 20);
    CHECK_EQ_I64(odds_display_from_milli(ODDS_FORMAT_AMERICAN, 1100,
                                         &display),
                 0);
    CHECK_EQ_I64(display.value, -1000);
}

/* Checks one price in one format and returns o - b, or -1 when the display
 * does not convert back (only decimal 1.00, Hong Kong and Malay 0.00). */
static int64_t round_trip_one(enum odds_format format, int64_t odds_milli,
                              int *ok)
{
    struct odds_display display;
    struct odds_display parsed;
    char text[ODDS_TEXT_SIZE_MAX];
    int64_t back = 0;
    *ok = 0;
    if (odds_display_from_milli(format, odds_milli, &display) != 0 ||
        odds_display_format(&display, text, sizeof text) != 0 ||
        odds_display_parse(format, text, &parsed) != 0 ||
        !display_equal(&display, &parsed))
        return -1;
    int rc = odds_milli_from_display(&parsed, &back);
    int zero_display = format != ODDS_FORMAT_INDONESIAN &&
                       format != ODDS_FORMAT_AMERICAN &&
                       format != ODDS_FORMAT_FRACTIONAL && odds_milli < 1010;
    if (zero_display) {
        *ok = rc == ODDS_ERR_RANGE;
        return -1;
    }
    if (rc != 0 || back > odds_milli)
        return -1;
    int64_t hk_milli = odds_milli - 1000;
    if (display.value < 0) {
        /* A reciprocal -m promises HK = 100000 / m exactly; it must not
         * exceed the true HK, and the loss is below 1 + h^2 / (100000 + h),
         * so at most ceil(h^2 / (100000 + h)). */
        int64_t stake = -display.value;
        int64_t loss_max = (hk_milli * hk_milli + 100000 + hk_milli - 1) /
                           (100000 + hk_milli);
        if (stake * hk_milli < 100000 || odds_milli - back > loss_max)
            return -1;
    }
    *ok = 1;
    return odds_milli - back;
}

TEST(odds_round_trip_exhaustive)
{
    for (int f = 0; f < ODDS_FORMAT_COUNT; f++) {
        enum odds_format format = (enum odds_format)f;
        int64_t loss_max = 0;
        int64_t back_previous = 0;
        for (int64_t o = ODDS_MILLI_MIN; o <= ODDS_MILLI_MAX; o++) {
            int ok = 0;
            int64_t loss = round_trip_one(format, o, &ok);
            if (!ok)
                fprintf(stderr, "  %s %" PRId64 "\n", odds_format_name(format),
                        o);
            CHECK(ok);
            if (loss < 0)
                continue;
            CHECK(loss <= round_trip_bound_milli[f]);
            if (loss > loss_max)
                loss_max = loss;
            /* Exact where documented: fractional always, decimal and Hong
             * Kong on every multiple of 10. */
            if (format == ODDS_FORMAT_FRACTIONAL ||
                ((format == ODDS_FORMAT_DECIMAL ||
                  format == ODDS_FORMAT_HONG_KONG) && o % 10 == 0))
                CHECK_EQ_I64(loss, 0);
            /* The converted-back price never falls as the price rises. */
            CHECK(o - loss >= back_previous);
            back_previous = o - loss;
        }
        CHECK_EQ_I64(loss_max, round_trip_bound_milli[f]);
    }
}

TEST(odds_round_trip_regions)
{
    /* Malay loses precision as the price grows, region by region. */
    static const int64_t region_end[] = {2000, 3000, 5000, 11000, 101000,
                                         1000000};
    static const int64_t region_loss[] = {9, 39, 153, 909, 49999, 899000};
    int64_t start = ODDS_MILLI_MIN + 9;
    for (size_t r = 0; r < sizeof region_end / sizeof region_end[0]; r++) {
        int64_t loss_max = 0;
        for (int64_t o = start; o <= region_end[r]; o++) {
            int ok = 0;
            int64_t loss = round_trip_one(ODDS_FORMAT_MALAY, o, &ok);
            CHECK(ok);
            if (loss > loss_max)
                loss_max = loss;
        }
        CHECK_EQ_I64(loss_max, region_loss[r]);
        start = region_end[r] + 1;
    }
}

TEST(odds_milli_out_of_range)
{
    static const int64_t bad[] = {1000, 0, -5, 1000001, INT64_MIN, INT64_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int f = 0; f < ODDS_FORMAT_COUNT; f++) {
            struct odds_display display = {ODDS_FORMAT_DECIMAL, 7, 7, 7};
            CHECK_EQ_I64(odds_display_from_milli((enum odds_format)f, bad[i],
                                                 &display),
                         ODDS_ERR_RANGE);
            CHECK_EQ_I64(display.value, 7);
        }
    }
}

TEST(odds_unknown_format)
{
    static const int bad[] = {ODDS_FORMAT_COUNT, 7, -1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum odds_format format = (enum odds_format)bad[i];
        struct odds_display display = {format, 215, 0, 0};
        char text[ODDS_TEXT_SIZE_MAX];
        int64_t back = 0;
        CHECK_EQ_I64(odds_display_from_milli(format, 2150, &display),
                     ODDS_ERR_FORMAT);
        CHECK_EQ_I64(odds_milli_from_display(&display, &back),
                     ODDS_ERR_FORMAT);
        CHECK_EQ_I64(odds_display_format(&display, text, sizeof text),
                     ODDS_ERR_FORMAT);
        CHECK_STR(text, "");
        CHECK_EQ_I64(odds_display_parse(format, "2.15", &display),
                     ODDS_ERR_FORMAT);
        CHECK(odds_format_name(format) == NULL);
    }
}

struct parse_case {
    enum odds_format format;
    const char *text;
    int rc;
};

TEST(odds_parse_errors)
{
    static const struct parse_case cases[] = {
        {ODDS_FORMAT_DECIMAL, "", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_DECIMAL, "abc", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_DECIMAL, "1.2.3", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_DECIMAL, "2.155", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_DECIMAL, "+", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_DECIMAL, "-", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_DECIMAL, ".5", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_DECIMAL, "2.", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_DECIMAL, " 2.15", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_DECIMAL, "2.15 ", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_DECIMAL, "2,15", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_DECIMAL, "1e3", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_DECIMAL, "23/20", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_MALAY, "--0.87", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_INDONESIAN, "+-1.15", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_AMERICAN, "", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_AMERICAN, "+", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_AMERICAN, "1.5", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_AMERICAN, "++115", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_AMERICAN, "115x", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_FRACTIONAL, "", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_FRACTIONAL, "1/0", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_FRACTIONAL, "1/", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_FRACTIONAL, "/2", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_FRACTIONAL, "1/2/3", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_FRACTIONAL, "1.5/2", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_FRACTIONAL, "-1/2", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_FRACTIONAL, "3", ODDS_ERR_FORMAT},
        {ODDS_FORMAT_DECIMAL, "10000000000000000", ODDS_ERR_RANGE},
        {ODDS_FORMAT_DECIMAL, "99999999999999999999999.99", ODDS_ERR_RANGE},
        {ODDS_FORMAT_AMERICAN, "-99999999999999999999999", ODDS_ERR_RANGE},
        {ODDS_FORMAT_FRACTIONAL, "1/99999999999999999999", ODDS_ERR_RANGE},
        {ODDS_FORMAT_FRACTIONAL, "99999999999999999999/1", ODDS_ERR_RANGE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct odds_display display = {ODDS_FORMAT_HONG_KONG, 7, 7, 7};
        int rc = odds_display_parse(cases[i].format, cases[i].text, &display);
        if (rc != cases[i].rc)
            fprintf(stderr, "  text \"%s\"\n", cases[i].text);
        CHECK_EQ_I64(rc, cases[i].rc);
        CHECK_EQ_I64(display.value, 7);
    }
}

struct back_case {
    enum odds_format format;
    const char *text;
    int rc;
    int64_t odds_milli;
};

TEST(odds_parse_then_back)
{
    static const struct back_case cases[] = {
        {ODDS_FORMAT_DECIMAL, "2", 0, 2000},
        {ODDS_FORMAT_DECIMAL, "2.1", 0, 2100},
        {ODDS_FORMAT_DECIMAL, "1000.00", 0, 1000000},
        {ODDS_FORMAT_DECIMAL, "1.01", 0, 1010},
        {ODDS_FORMAT_HONG_KONG, "+1.15", 0, 2150},
        {ODDS_FORMAT_HONG_KONG, "999", 0, 1000000},
        {ODDS_FORMAT_MALAY, "1.00", 0, 2000},
        {ODDS_FORMAT_MALAY, "-1.00", 0, 2000},
        {ODDS_FORMAT_MALAY, "-0.5", 0, 3000},
        {ODDS_FORMAT_MALAY, "-0.01", 0, 101000},
        {ODDS_FORMAT_INDONESIAN, "-1.00", 0, 2000},
        {ODDS_FORMAT_INDONESIAN, "-1000.00", 0, 1001},
        {ODDS_FORMAT_INDONESIAN, "+1.50", 0, 2500},
        {ODDS_FORMAT_AMERICAN, "115", 0, 2150},
        {ODDS_FORMAT_AMERICAN, "-100", 0, 2000},
        {ODDS_FORMAT_AMERICAN, "-870", 0, 1114},
        {ODDS_FORMAT_FRACTIONAL, "4/6", 0, 1666},
        {ODDS_FORMAT_FRACTIONAL, "100/30", 0, 4333},
        {ODDS_FORMAT_FRACTIONAL, "999/1", 0, 1000000},
        {ODDS_FORMAT_FRACTIONAL, "1998/2", 0, 1000000},
        {ODDS_FORMAT_FRACTIONAL, "1/1000", 0, 1001},
        {ODDS_FORMAT_DECIMAL, "1.00", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_DECIMAL, "0.50", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_DECIMAL, "-2.15", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_DECIMAL, "1000.01", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_DECIMAL, "1000000000000000", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_HONG_KONG, "0", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_HONG_KONG, "-0.50", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_HONG_KONG, "999.01", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_MALAY, "0.00", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_MALAY, "-0.00", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_MALAY, "1.01", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_MALAY, "-1.01", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_INDONESIAN, "0.99", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_INDONESIAN, "-0.99", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_INDONESIAN, "-1000.01", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_INDONESIAN, "999.01", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_AMERICAN, "0", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_AMERICAN, "+99", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_AMERICAN, "-99", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_AMERICAN, "+99901", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_AMERICAN, "-100001", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_FRACTIONAL, "0/1", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_FRACTIONAL, "1/1001", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_FRACTIONAL, "1000/1", ODDS_ERR_RANGE, 0},
        {ODDS_FORMAT_FRACTIONAL, "999001/1000", ODDS_ERR_RANGE, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct odds_display display;
        int64_t back = -7;
        /* Every text here parses; only the conversion may refuse it. */
        int rc = odds_display_parse(cases[i].format, cases[i].text, &display);
        if (rc != 0)
            fprintf(stderr, "  text \"%s\"\n", cases[i].text);
        CHECK_EQ_I64(rc, 0);
        rc = odds_milli_from_display(&display, &back);
        if (rc != cases[i].rc)
            fprintf(stderr, "  text \"%s\"\n", cases[i].text);
        CHECK_EQ_I64(rc, cases[i].rc);
        CHECK_EQ_I64(back, cases[i].rc == 0 ? cases[i].odds_milli : -7);
    }
}

TEST(odds_hand_built_displays)
{
    /* Each value is out of range in every format, as a value, a numerator
     * or both terms of a fraction. */
    static const int64_t extreme[] = {INT64_MIN, INT64_MIN + 1, -100001, 0,
                                      1000000, INT64_MAX};
    for (size_t i = 0; i < sizeof extreme / sizeof extreme[0]; i++) {
        for (int f = 0; f < ODDS_FORMAT_COUNT; f++) {
            struct odds_display display = {(enum odds_format)f, extreme[i],
                                           extreme[i], 1};
            char text[ODDS_TEXT_SIZE_MAX];
            int64_t back = -7;
            CHECK_EQ_I64(odds_milli_from_display(&display, &back),
                         ODDS_ERR_RANGE);
            CHECK_EQ_I64(back, -7);
            CHECK_EQ_I64(odds_display_format(&display, text, sizeof text), 0);
            display.denominator = extreme[i];
            CHECK_EQ_I64(odds_display_format(&display, text, sizeof text),
                         f == ODDS_FORMAT_FRACTIONAL && extreme[i] <= 0
                             ? ODDS_ERR_FORMAT
                             : 0);
        }
    }
    struct odds_display fraction = {ODDS_FORMAT_FRACTIONAL, 0, 1, 0};
    char text[ODDS_TEXT_SIZE_MAX];
    int64_t back = 0;
    CHECK_EQ_I64(odds_milli_from_display(&fraction, &back), ODDS_ERR_FORMAT);
    fraction.denominator = -2;
    CHECK_EQ_I64(odds_milli_from_display(&fraction, &back), ODDS_ERR_FORMAT);
    fraction.numerator = INT64_MIN;
    fraction.denominator = INT64_MAX;
    CHECK_EQ_I64(odds_display_format(&fraction, text, sizeof text), 0);
    CHECK_STR(text, "-9223372036854775808/9223372036854775807");
    struct odds_display american = {ODDS_FORMAT_AMERICAN, INT64_MIN, 0, 0};
    CHECK_EQ_I64(odds_display_format(&american, text, sizeof text), 0);
    CHECK_STR(text, "-9223372036854775808");
}

TEST(odds_text_buffer_too_small)
{
    struct odds_display display;
    char text[8];
    CHECK_EQ_I64(odds_display_from_milli(ODDS_FORMAT_DECIMAL, 2150, &display),
                 0);
    CHECK_EQ_I64(odds_display_format(&display, text, 5), 0);
    CHECK_STR(text, "2.15");
    memset(text, 'x', sizeof text);
    CHECK_EQ_I64(odds_display_format(&display, text, 4), ODDS_ERR_SPACE);
    CHECK_STR(text, "");
    memset(text, 'x', sizeof text);
    CHECK_EQ_I64(odds_display_format(&display, text, 1), ODDS_ERR_SPACE);
    CHECK_STR(text, "");
    memset(text, 'x', sizeof text);
    CHECK_EQ_I64(odds_display_format(&display, text, 0), ODDS_ERR_SPACE);
    CHECK(text[0] == 'x');
    CHECK_EQ_I64(odds_display_from_milli(ODDS_FORMAT_FRACTIONAL, 2150,
                                         &display),
                 0);
    CHECK_EQ_I64(odds_display_format(&display, text, 5), ODDS_ERR_SPACE);
    CHECK_EQ_I64(odds_display_format(&display, text, 6), 0);
    CHECK_STR(text, "23/20");
}

TEST(odds_format_names)
{
    static const char *const names[ODDS_FORMAT_COUNT] = {
        "decimal", "hongkong", "malay", "indonesian", "american", "fractional",
    };
    for (int f = 0; f < ODDS_FORMAT_COUNT; f++) {
        enum odds_format format = ODDS_FORMAT_DECIMAL;
        CHECK_STR(odds_format_name((enum odds_format)f), names[f]);
        CHECK_EQ_I64(odds_format_from_name(names[f], &format), 0);
        CHECK_EQ_I64(format, f);
    }
    static const char *const bad[] = {"", "Decimal", "hong kong", "us",
                                      "decimal "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum odds_format format = ODDS_FORMAT_AMERICAN;
        CHECK_EQ_I64(odds_format_from_name(bad[i], &format), ODDS_ERR_FORMAT);
        CHECK_EQ_I64(format, ODDS_FORMAT_AMERICAN);
    }
}

TEST(odds_ladder)
{
    static const struct {
        int64_t odds_milli, numerator, denominator;
    } cases[] = {
        {1910, 10, 11}, {1909, 10, 11}, {1900, 10, 11}, {1899, 5, 6}, {1833, 5, 6},
        {1830, 5, 6}, {1800, 4, 5}, {2000, 1, 1}, {2500, 6, 4}, {1667, 4, 6},
        {4333, 100, 30}, {1010, 1, 100}, {1005, 1, 200}, {1000000, 500, 1}, {3000, 2, 1},
        {3120, 85, 40},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct odds_display display;
        CHECK_EQ_I64(odds_ladder_from_milli(cases[i].odds_milli, &display), 0);
        CHECK_EQ_I64(display.format, ODDS_FORMAT_FRACTIONAL);
        CHECK_EQ_I64(display.numerator, cases[i].numerator);
        CHECK_EQ_I64(display.denominator, cases[i].denominator);
    }
    struct odds_display display;
    CHECK_EQ_I64(odds_ladder_from_milli(1000, &display), ODDS_ERR_RANGE);
    /* Never above the decimal display, and never falling as the odds rise. */
    int64_t last = 0;
    for (int64_t milli = ODDS_MILLI_MIN; milli <= 20000; milli++) {
        CHECK_EQ_I64(odds_ladder_from_milli(milli, &display), 0);
        int64_t hundredths = display.numerator * 100 / display.denominator;
        CHECK(hundredths <= (milli - 1000) / 10);
        CHECK(display.numerator * 1000000 / display.denominator >= last);
        last = display.numerator * 1000000 / display.denominator;
    }
}

TEST_MAIN()
