/* Fixed-odds conversions between odds_milli and the six display formats.
 *
 * Everything here is exact integer arithmetic on small bounded numbers, so
 * that every node of the engine shows and reads the same price for the
 * same odds. Each conversion rounds toward the smaller payout (see the
 * rule in odds.h and docs/odds.md); the only divisions that round are the
 * truncation of a thousandth to a hundredth (down) and the reciprocal
 * -1/HK of the Malay, Indonesian and American formats (away from zero).
 */
#include "core/odds.h"

#include <assert.h>
#include <string.h>

/* The odds_milli of evens minus the stake: decimal odds 1.000 pay nothing,
 * so the Hong Kong odds (the win per unit staked) are odds_milli - 1000. */
#define ODDS_MILLI_ONE 1000
#define HK_MILLI_MAX (ODDS_MILLI_MAX - ODDS_MILLI_ONE)

/* A hundredth is ten thousandths; 1.00 is 100 hundredths, and an American
 * price of 100 is also one unit won per unit staked. */
#define MILLI_PER_HUNDREDTH 10
#define HUNDREDTHS_ONE 100

/* A reciprocal price -1/HK in hundredths, with HK given in thousandths, is
 * -(100 * 1000) / hk_milli; the American -100/HK is the same number. */
#define RECIPROCAL_SCALE 100000

static const char *const odds_format_names[ODDS_FORMAT_COUNT] = {
    "decimal", "hongkong", "malay", "indonesian", "american", "fractional",
};

static int format_known(enum odds_format format)
{
    return (int)format >= 0 && (int)format < ODDS_FORMAT_COUNT;
}

/* Returns ceil(numerator / denominator) for a non-negative numerator and a
 * positive denominator. */
static int64_t div_ceil(int64_t numerator, int64_t denominator)
{
    assert(numerator >= 0);
    assert(denominator > 0);
    return (numerator + denominator - 1) / denominator;
}

/* Returns the greatest common divisor of two positive numbers. */
static int64_t gcd(int64_t a, int64_t b)
{
    assert(a > 0 && b > 0);
    while (b != 0) {
        int64_t rest = a % b;
        a = b;
        b = rest;
    }
    assert(a > 0);
    return a;
}

/* Returns the reciprocal price -1/HK in hundredths (or -100/HK as a whole
 * American number), rounded away from zero: the displayed stake to win one
 * is never smaller than the true one. */
static int64_t reciprocal_away(int64_t hk_milli)
{
    assert(hk_milli >= 1 && hk_milli <= HK_MILLI_MAX);
    int64_t value = -div_ceil(RECIPROCAL_SCALE, hk_milli);
    assert(value <= -1 && value * -hk_milli >= RECIPROCAL_SCALE);
    return value;
}

int odds_display_from_milli(enum odds_format format, int64_t odds_milli,
                            struct odds_display *out)
{
    assert(out != NULL);
    if (!format_known(format))
        return ODDS_ERR_FORMAT;
    if (odds_milli < ODDS_MILLI_MIN || odds_milli > ODDS_MILLI_MAX)
        return ODDS_ERR_RANGE;
    int64_t hk_milli = odds_milli - ODDS_MILLI_ONE;
    struct odds_display display = {format, 0, 0, 0};
    switch (format) {
    case ODDS_FORMAT_DECIMAL:
        display.value = odds_milli / MILLI_PER_HUNDREDTH;
        break;
    case ODDS_FORMAT_HONG_KONG:
        display.value = hk_milli / MILLI_PER_HUNDREDTH;
        break;
    case ODDS_FORMAT_MALAY:
        if (hk_milli <= ODDS_MILLI_ONE)
            display.value = hk_milli / MILLI_PER_HUNDREDTH;
        else
            display.value = reciprocal_away(hk_milli);
        break;
    case ODDS_FORMAT_INDONESIAN:
    case ODDS_FORMAT_AMERICAN:
        /* Indonesian hundredths and American whole numbers coincide:
         * both are 100 * HK or -100 / HK. */
        if (hk_milli >= ODDS_MILLI_ONE)
            display.value = hk_milli / MILLI_PER_HUNDREDTH;
        else
            display.value = reciprocal_away(hk_milli);
        break;
    case ODDS_FORMAT_FRACTIONAL: {
        int64_t divisor = gcd(hk_milli, ODDS_MILLI_ONE);
        display.numerator = hk_milli / divisor;
        display.denominator = ODDS_MILLI_ONE / divisor;
        break;
    }
    }
    *out = display;
    assert(out->denominator >= 0);
    return 0;
}

/* The traditional fractional ladder, lowest first: the prices British
 * bookmakers quote (evens is 1/1, 100/30 is their 10/3). Display only. */
static const int16_t odds_ladder[][2] = {
    {1, 100}, {1, 50}, {1, 33}, {1, 25}, {1, 20}, {1, 16}, {1, 14}, {1, 12}, {1, 10},
    {1, 9}, {1, 8}, {2, 15}, {1, 7}, {1, 6}, {2, 11}, {1, 5}, {2, 9}, {1, 4}, {2, 7},
    {3, 10}, {1, 3}, {4, 11}, {2, 5}, {4, 9}, {1, 2}, {8, 15}, {4, 7}, {8, 13}, {4, 6},
    {8, 11}, {4, 5}, {5, 6}, {10, 11}, {1, 1}, {21, 20}, {11, 10}, {6, 5}, {5, 4}, {11, 8},
    {7, 5}, {6, 4}, {8, 5}, {13, 8}, {7, 4}, {9, 5}, {15, 8}, {2, 1}, {85, 40}, {11, 5},
    {9, 4}, {12, 5}, {5, 2}, {13, 5}, {11, 4}, {3, 1}, {100, 30}, {7, 2}, {4, 1}, {9, 2},
    {5, 1}, {11, 2}, {6, 1}, {13, 2}, {7, 1}, {15, 2}, {8, 1}, {17, 2}, {9, 1}, {10, 1},
    {11, 1}, {12, 1}, {14, 1}, {16, 1}, {18, 1}, {20, 1}, {22, 1}, {25, 1}, {28, 1},
    {33, 1}, {40, 1}, {50, 1}, {66, 1}, {80, 1}, {100, 1}, {125, 1}, {150, 1}, {200, 1},
    {250, 1}, {300, 1}, {400, 1}, {500, 1},
};
#define ODDS_LADDER_COUNT (sizeof odds_ladder / sizeof odds_ladder[0])

int odds_ladder_from_milli(int64_t odds_milli, struct odds_display *out)
{
    assert(out != NULL);
    int rc = odds_display_from_milli(ODDS_FORMAT_FRACTIONAL, odds_milli, out);
    if (rc != 0)
        return rc;
    /* Compared as the decimal format shows both, in hundredths rounded
     * down: 10/11 (1.9090...) is 1.90 and 5/6 is 1.83, so the odds 1.91
     * and 1.83 a bookmaker types for them show as 10/11 and 5/6. */
    int64_t hk_hundredths = (odds_milli - ODDS_MILLI_ONE) / MILLI_PER_HUNDREDTH;
    for (size_t i = ODDS_LADDER_COUNT; i-- > 0;) {
        int64_t numerator = odds_ladder[i][0];
        int64_t denominator = odds_ladder[i][1];
        if (numerator * HUNDREDTHS_ONE / denominator <= hk_hundredths) {
            out->numerator = numerator;
            out->denominator = denominator;
            break;
        }
    }
    assert(out->denominator > 0);
    assert(out->numerator * HUNDREDTHS_ONE / out->denominator <= hk_hundredths ||
           hk_hundredths == 0);
    return 0;
}

/* Converts a non-negative count of hundredths of HK to thousandths. */
static int hk_from_hundredths(int64_t hundredths, int64_t *hk_milli)
{
    assert(hk_milli != NULL);
    if (hundredths < 0 || hundredths > HK_MILLI_MAX / MILLI_PER_HUNDREDTH)
        return ODDS_ERR_RANGE;
    *hk_milli = hundredths * MILLI_PER_HUNDREDTH;
    assert(*hk_milli >= 0 && *hk_milli <= HK_MILLI_MAX);
    return 0;
}

/* Converts a reciprocal price -m (hundredths, or whole American) to HK in
 * thousandths, 100000 / m rounded down. A price below -100000 means HK
 * below one thousandth, which is out of range. */
static int hk_from_reciprocal(int64_t value, int64_t *hk_milli)
{
    assert(hk_milli != NULL);
    assert(value < 0);
    if (value < -RECIPROCAL_SCALE)
        return ODDS_ERR_RANGE;
    *hk_milli = RECIPROCAL_SCALE / -value;
    return 0;
}

/* Converts numerator/denominator to HK in thousandths, rounded down. */
static int hk_from_fraction(int64_t numerator, int64_t denominator,
                            int64_t *hk_milli)
{
    assert(hk_milli != NULL);
    if (denominator <= 0)
        return ODDS_ERR_FORMAT;
    if (numerator < 0 || numerator > ODDS_TEXT_NUMBER_MAX ||
        denominator > ODDS_TEXT_NUMBER_MAX)
        return ODDS_ERR_RANGE;
    int64_t whole = numerator / denominator;
    int64_t rest = numerator % denominator;
    if (whole > HK_MILLI_MAX / ODDS_MILLI_ONE)
        return ODDS_ERR_RANGE;
    /* rest < denominator <= 10^15, so rest * 1000 stays below 2^63. */
    *hk_milli = whole * ODDS_MILLI_ONE + rest * ODDS_MILLI_ONE / denominator;
    assert(*hk_milli >= 0);
    return 0;
}

/* Converts the display's value to HK in thousandths, rounded down, or
 * returns an error when the value is not a price of its format. */
static int hk_from_display(const struct odds_display *display,
                           int64_t *hk_milli)
{
    assert(display != NULL && hk_milli != NULL);
    assert(format_known(display->format));
    int64_t value = display->value;
    switch (display->format) {
    case ODDS_FORMAT_DECIMAL:
        if (value < HUNDREDTHS_ONE)
            return ODDS_ERR_RANGE;
        return hk_from_hundredths(value - HUNDREDTHS_ONE, hk_milli);
    case ODDS_FORMAT_HONG_KONG:
        return hk_from_hundredths(value, hk_milli);
    case ODDS_FORMAT_MALAY:
        if (value >= 0 && value <= HUNDREDTHS_ONE)
            return hk_from_hundredths(value, hk_milli);
        if (value < 0 && value >= -HUNDREDTHS_ONE)
            return hk_from_reciprocal(value, hk_milli);
        return ODDS_ERR_RANGE;
    case ODDS_FORMAT_INDONESIAN:
    case ODDS_FORMAT_AMERICAN:
        if (value >= HUNDREDTHS_ONE)
            return hk_from_hundredths(value, hk_milli);
        if (value <= -HUNDREDTHS_ONE)
            return hk_from_reciprocal(value, hk_milli);
        return ODDS_ERR_RANGE;
    case ODDS_FORMAT_FRACTIONAL:
        return hk_from_fraction(display->numerator, display->denominator,
                                hk_milli);
    }
    return ODDS_ERR_FORMAT;
}

int odds_milli_from_display(const struct odds_display *display,
                            int64_t *odds_milli)
{
    assert(display != NULL);
    assert(odds_milli != NULL);
    if (!format_known(display->format))
        return ODDS_ERR_FORMAT;
    int64_t hk_milli = 0;
    int rc = hk_from_display(display, &hk_milli);
    if (rc != 0)
        return rc;
    if (hk_milli < ODDS_MILLI_MIN - ODDS_MILLI_ONE || hk_milli > HK_MILLI_MAX)
        return ODDS_ERR_RANGE;
    *odds_milli = ODDS_MILLI_ONE + hk_milli;
    return 0;
}

/* Returns |value| without overflow, INT64_MIN included. */
static uint64_t magnitude(int64_t value)
{
    return value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
}

/* Appends the decimal digits of number to text at length, at least
 * min_digits of them (zero-padded), and returns the new length. */
static size_t append_digits(char *text, size_t length, uint64_t number,
                            int min_digits)
{
    char reversed[24];
    int count = 0;
    assert(min_digits >= 1 && min_digits <= 20);
    do {
        reversed[count++] = (char)('0' + number % 10);
        number /= 10;
    } while (number != 0 || count < min_digits);
    while (count > 0)
        text[length++] = reversed[--count];
    assert(length < ODDS_TEXT_SIZE_MAX);
    return length;
}

/* Writes the text of the display to scratch (at least ODDS_TEXT_SIZE_MAX
 * bytes) without its NUL and returns the length. */
static size_t format_scratch(const struct odds_display *display, char *scratch)
{
    assert(display != NULL && scratch != NULL);
    size_t length = 0;
    uint64_t number = magnitude(display->value);
    switch (display->format) {
    case ODDS_FORMAT_DECIMAL:
    case ODDS_FORMAT_HONG_KONG:
    case ODDS_FORMAT_MALAY:
    case ODDS_FORMAT_INDONESIAN:
        if (display->value < 0)
            scratch[length++] = '-';
        length = append_digits(scratch, length, number / HUNDREDTHS_ONE, 1);
        scratch[length++] = '.';
        length = append_digits(scratch, length, number % HUNDREDTHS_ONE, 2);
        break;
    case ODDS_FORMAT_AMERICAN:
        if (display->value != 0)
            scratch[length++] = display->value < 0 ? '-' : '+';
        length = append_digits(scratch, length, number, 1);
        break;
    case ODDS_FORMAT_FRACTIONAL:
        if (display->numerator < 0)
            scratch[length++] = '-';
        length = append_digits(scratch, length,
                               magnitude(display->numerator), 1);
        scratch[length++] = '/';
        length = append_digits(scratch, length,
                               magnitude(display->denominator), 1);
        break;
    }
    assert(length > 0 && length < ODDS_TEXT_SIZE_MAX);
    return length;
}

int odds_display_format(const struct odds_display *display, char *text,
                        size_t text_size)
{
    assert(display != NULL);
    assert(text != NULL);
    if (text_size > 0)
        text[0] = '\0';
    if (!format_known(display->format))
        return ODDS_ERR_FORMAT;
    if (display->format == ODDS_FORMAT_FRACTIONAL && display->denominator <= 0)
        return ODDS_ERR_FORMAT;
    char scratch[ODDS_TEXT_SIZE_MAX];
    size_t length = format_scratch(display, scratch);
    if (length >= text_size)
        return ODDS_ERR_SPACE;
    memcpy(text, scratch, length);
    text[length] = '\0';
    return 0;
}

/* A position in the text being parsed, and whether any number in it went
 * above ODDS_TEXT_NUMBER_MAX. */
struct scan {
    const char *at;
    int too_big;
};

/* Reads a run of digits into *number and returns how many there were. A
 * number above ODDS_TEXT_NUMBER_MAX stops growing and sets too_big. */
static int scan_digits(struct scan *scan, int64_t *number)
{
    assert(scan != NULL && number != NULL);
    int count = 0;
    *number = 0;
    while (*scan->at >= '0' && *scan->at <= '9') {
        int64_t digit = *scan->at - '0';
        if (*number > (ODDS_TEXT_NUMBER_MAX - digit) / 10)
            scan->too_big = 1;
        else
            *number = *number * 10 + digit;
        scan->at++;
        count++;
    }
    assert(*number >= 0 && *number <= ODDS_TEXT_NUMBER_MAX);
    return count;
}

/* Reads an optional sign and returns -1 for '-', otherwise 1. */
static int64_t scan_sign(struct scan *scan)
{
    assert(scan != NULL && scan->at != NULL);
    char sign = *scan->at;
    if (sign == '-' || sign == '+')
        scan->at++;
    return sign == '-' ? -1 : 1;
}

/* Parses [sign] digits [. digit [digit]] into hundredths. */
static int parse_hundredths(const char *text, int64_t *value)
{
    assert(text != NULL && value != NULL);
    struct scan scan = {text, 0};
    int64_t sign = scan_sign(&scan);
    int64_t whole = 0;
    int64_t part = 0;
    if (scan_digits(&scan, &whole) == 0)
        return ODDS_ERR_FORMAT;
    if (*scan.at == '.') {
        scan.at++;
        int places = scan_digits(&scan, &part);
        if (places < 1 || places > 2)
            return ODDS_ERR_FORMAT;
        if (places == 1)
            part *= 10;
    }
    if (*scan.at != '\0')
        return ODDS_ERR_FORMAT;
    if (scan.too_big)
        return ODDS_ERR_RANGE;
    *value = sign * (whole * HUNDREDTHS_ONE + part);
    return 0;
}

/* Parses [sign] digits into a whole number. */
static int parse_whole(const char *text, int64_t *value)
{
    assert(text != NULL && value != NULL);
    struct scan scan = {text, 0};
    int64_t sign = scan_sign(&scan);
    int64_t whole = 0;
    if (scan_digits(&scan, &whole) == 0 || *scan.at != '\0')
        return ODDS_ERR_FORMAT;
    if (scan.too_big)
        return ODDS_ERR_RANGE;
    *value = sign * whole;
    return 0;
}

/* Parses digits / digits, with a denominator that is not zero. */
static int parse_fraction(const char *text, struct odds_display *out)
{
    assert(text != NULL && out != NULL);
    struct scan scan = {text, 0};
    int64_t numerator = 0;
    int64_t denominator = 0;
    if (scan_digits(&scan, &numerator) == 0 || *scan.at != '/')
        return ODDS_ERR_FORMAT;
    scan.at++;
    if (scan_digits(&scan, &denominator) == 0 || *scan.at != '\0')
        return ODDS_ERR_FORMAT;
    if (denominator == 0 && !scan.too_big)
        return ODDS_ERR_FORMAT;
    if (scan.too_big)
        return ODDS_ERR_RANGE;
    out->numerator = numerator;
    out->denominator = denominator;
    return 0;
}

int odds_display_parse(enum odds_format format, const char *text,
                       struct odds_display *out)
{
    assert(text != NULL);
    assert(out != NULL);
    if (!format_known(format))
        return ODDS_ERR_FORMAT;
    struct odds_display display = {format, 0, 0, 0};
    int rc = 0;
    switch (format) {
    case ODDS_FORMAT_DECIMAL:
    case ODDS_FORMAT_HONG_KONG:
    case ODDS_FORMAT_MALAY:
    case ODDS_FORMAT_INDONESIAN:
        rc = parse_hundredths(text, &display.value);
        break;
    case ODDS_FORMAT_AMERICAN:
        rc = parse_whole(text, &display.value);
        break;
    case ODDS_FORMAT_FRACTIONAL:
        rc = parse_fraction(text, &display);
        break;
    }
    if (rc == 0)
        *out = display;
    return rc;
}

const char *odds_format_name(enum odds_format format)
{
    if (!format_known(format))
        return NULL;
    const char *name = odds_format_names[format];
    assert(name != NULL);
    return name;
}

int odds_format_from_name(const char *name, enum odds_format *format)
{
    assert(name != NULL);
    assert(format != NULL);
    for (int index = 0; index < ODDS_FORMAT_COUNT; index++) {
        if (strcmp(name, odds_format_names[index]) == 0) {
            *format = (enum odds_format)index;
            return 0;
        }
    }
    return ODDS_ERR_FORMAT;
}
