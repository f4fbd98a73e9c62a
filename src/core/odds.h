/* Fixed-odds prices: the one internal unit and the six display formats.
 *
 * Inside the engine a fixed-odds price is always decimal odds in
 * thousandths, odds_milli (2.150 is stored as 2150), so that stakes,
 * payouts and exposures need nothing but integer arithmetic. Bettors read
 * and type prices in one of six regional formats; this module converts a
 * price to each format, formats and parses the text, and converts a
 * displayed price back, with no floating point and no allocation.
 *
 * THE ONE ROUNDING RULE. Every displayed price is rounded toward the
 * smaller payout, so that a display never promises more than the bet pays:
 *   - a positive displayed value (decimal, Hong Kong, and positive Malay,
 *     Indonesian and American) is rounded down, toward zero;
 *   - a negative Malay, Indonesian or American value -x means "stake x to
 *     win 1" (or 100), and a more negative number pays less, so it is
 *     rounded away from zero;
 *   - fractional odds are exact and are never rounded.
 * Converting a display back to odds_milli follows the same rule: the result
 * is the exact odds of the displayed value rounded down to a thousandth.
 * The round trip milli -> display -> milli therefore never increases a
 * price; docs/odds.md states how far each format can lower it.
 */
#ifndef NODOWN_CORE_ODDS_H
#define NODOWN_CORE_ODDS_H

#include <stddef.h>
#include <stdint.h>

/* The valid range of odds_milli, inclusive: 1.001 to 1000.000. */
#define ODDS_MILLI_MIN 1001
#define ODDS_MILLI_MAX 1000000

enum odds_format {
    ODDS_FORMAT_DECIMAL = 0,
    ODDS_FORMAT_HONG_KONG = 1,
    ODDS_FORMAT_MALAY = 2,
    ODDS_FORMAT_INDONESIAN = 3,
    ODDS_FORMAT_AMERICAN = 4,
    ODDS_FORMAT_FRACTIONAL = 5,
};
#define ODDS_FORMAT_COUNT 6

/* A displayed price. For decimal, Hong Kong, Malay and Indonesian, value
 * holds hundredths (2.15 -> 215, -0.87 -> -87). For American, value holds
 * the whole number (+115 -> 115, -870 -> -870). For fractional, the price
 * is numerator/denominator (reduced when it comes from
 * odds_display_from_milli) and value is 0. The fields a format does not
 * use are 0, so that two equal displays compare equal field by field. */
struct odds_display {
    enum odds_format format;
    int64_t value;
    int64_t numerator;
    int64_t denominator;
};

#define ODDS_ERR_RANGE (-1)  /* odds_milli or displayed value out of range */
#define ODDS_ERR_FORMAT (-2) /* unknown format or unparsable text */
#define ODDS_ERR_SPACE (-3)  /* text buffer too small for the formatted text */

/* A text buffer of this many bytes holds the text of any display, even
 * one built by hand with extreme int64_t fields, and its NUL. */
#define ODDS_TEXT_SIZE_MAX 48

/* The largest number odds_display_parse accepts in one run of digits (the
 * whole part of a hundredths value, an American value, or either term of a
 * fraction); a longer number is ODDS_ERR_RANGE. It keeps every later
 * product inside int64_t. */
#define ODDS_TEXT_NUMBER_MAX INT64_C(1000000000000000)

/* Converts odds_milli to its display in format, rounded toward the smaller
 * payout. Returns ODDS_ERR_FORMAT for an unknown format and
 * ODDS_ERR_RANGE for odds_milli outside [ODDS_MILLI_MIN, ODDS_MILLI_MAX]. */
int odds_display_from_milli(enum odds_format format, int64_t odds_milli,
                            struct odds_display *out);

/* Converts a display back to odds_milli: the exact odds of the displayed
 * value, rounded down to a thousandth. Returns ODDS_ERR_FORMAT for an
 * unknown format or a fraction whose denominator is not positive, and
 * ODDS_ERR_RANGE when the value is not a price of its format or the odds
 * fall outside the valid range. Note that decimal "1.00", Hong Kong "0.00"
 * and Malay "0.00" are what odds_milli 1001 to 1009 display as, yet they
 * mean odds of exactly 1.000 and convert back to ODDS_ERR_RANGE. */
int odds_milli_from_display(const struct odds_display *display,
                            int64_t *odds_milli);

/* Writes the text of a display, NUL-terminated: "2.15", "1.15", "-0.87",
 * "0.87", "+115", "-870", "23/20". Returns ODDS_ERR_FORMAT for an unknown
 * format or a fraction whose denominator is not positive, and
 * ODDS_ERR_SPACE when text_size is too small; on an error, text holds ""
 * when text_size is at least 1. */
int odds_display_format(const struct odds_display *display, char *text,
                        size_t text_size);

/* Parses the text of a display in format. Decimal, Hong Kong, Malay and
 * Indonesian take an optional sign, at least one digit and optionally a
 * point followed by one or two digits ("2", "2.1", "2.15", "-0.87",
 * "+1.15"). American takes an optional sign and digits ("+115", "-870",
 * "115"). Fractional takes digits, a slash and digits ("23/20", "4/6");
 * it is stored as written, not reduced. No spaces are allowed. Returns
 * ODDS_ERR_FORMAT for unparsable text or a zero denominator and
 * ODDS_ERR_RANGE for a number above ODDS_TEXT_NUMBER_MAX. Parsing only
 * reads the text: whether it is a valid price is for
 * odds_milli_from_display to say. */
int odds_display_parse(enum odds_format format, const char *text,
                       struct odds_display *out);

/* Converts odds_milli to fractional odds on the traditional bookmakers'
 * ladder (1/100 ... 5/6, 10/11, evens, 11/10 ... 500/1): the highest
 * ladder price whose decimal display (hundredths, rounded down) is at or
 * below the odds' own, so 1.91 shows as 10/11 and 1.83 as 5/6 though
 * 10/11 is 1.9090... exactly. Below the ladder's lowest price (odds under
 * 1.01) the exact fraction is given, as odds_display_from_milli gives it.
 * For display only: the state machine never uses it. Returns
 * ODDS_ERR_RANGE for odds_milli outside [ODDS_MILLI_MIN, ODDS_MILLI_MAX]. */
int odds_ladder_from_milli(int64_t odds_milli, struct odds_display *out);

/* Returns "decimal", "hongkong", "malay", "indonesian", "american" or
 * "fractional", or NULL for an unknown format. */
const char *odds_format_name(enum odds_format format);

/* Looks up a format by its exact (case-sensitive) name. Returns 0, or
 * ODDS_ERR_FORMAT for a name that is not one of the six. */
int odds_format_from_name(const char *name, enum odds_format *format);

#endif
