/* Tests of secret hashing (src/lib/secret.h).
 *
 * PBKDF2-HMAC-SHA256 is checked against the two vectors of RFC 7914
 * section 11 (which lists PBKDF2-HMAC-SHA256 outputs for its scrypt test
 * vectors), run through the same function secret_hash() uses with another
 * iteration count. The 20000-iteration value was computed independently
 * with Python's hashlib.pbkdf2_hmac("sha256", b"correct horse",
 * bytes(range(16)), 20000, 32).
 */
#include "lib/secret.h"
#include "core/result.h"
#include "test.h"

static int hex_equal(const uint8_t *bytes, size_t size, const char *hex)
{
    if (strlen(hex) != size * 2)
        return 0;
    for (size_t i = 0; i < size; i++) {
        char pair[3] = {hex[2 * i], hex[2 * i + 1], '\0'};
        if (bytes[i] != (uint8_t)strtoul(pair, NULL, 16))
            return 0;
    }
    return 1;
}

TEST(rfc7914_c1)
{
    uint8_t out[64];
    CHECK_EQ_I64(secret_pbkdf2_sha256("passwd", 6, (const uint8_t *)"salt", 4, 1, out, 64), 0);
    CHECK(hex_equal(out, 64,
                    "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
                    "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"));
}

TEST(rfc7914_c80000)
{
    uint8_t out[64];
    CHECK_EQ_I64(secret_pbkdf2_sha256("Password", 8, (const uint8_t *)"NaCl", 4, 80000, out, 64),
                 0);
    CHECK(hex_equal(out, 64,
                    "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
                    "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"));
}

TEST(hash_uses_20000_iterations)
{
    uint8_t salt[SECRET_SALT_SIZE];
    for (uint32_t i = 0; i < SECRET_SALT_SIZE; i++)
        salt[i] = (uint8_t)i;
    uint8_t hash[SECRET_HASH_SIZE];
    CHECK_EQ_I64(secret_hash("correct horse", 13, salt, hash), 0);
    CHECK(hex_equal(hash, SECRET_HASH_SIZE,
                    "f353b5100691ea4531a49c82821a088e2083178c2c6954a17a1ec53b3900da25"));
    /* The same with 19999 iterations differs: the count is really 20000. */
    uint8_t other[SECRET_HASH_SIZE];
    CHECK_EQ_I64(secret_pbkdf2_sha256("correct horse", 13, salt, SECRET_SALT_SIZE, 19999, other,
                                      sizeof other),
                 0);
    CHECK(memcmp(hash, other, sizeof hash) != 0);
}

TEST(verify)
{
    uint8_t salt[SECRET_SALT_SIZE];
    CHECK_EQ_I64(secret_salt_generate(salt), 0);
    uint8_t hash[SECRET_HASH_SIZE];
    CHECK_EQ_I64(secret_hash("s3cret", 6, salt, hash), 0);
    CHECK(secret_verify("s3cret", 6, salt, hash));
    CHECK(!secret_verify("s3cres", 6, salt, hash));
    CHECK(!secret_verify("s3cret", 5, salt, hash));
    CHECK(!secret_verify("", 0, salt, hash));
    /* Another salt, another hash. */
    uint8_t salt2[SECRET_SALT_SIZE];
    memcpy(salt2, salt, sizeof salt2);
    salt2[15] ^= 1;
    CHECK(!secret_verify("s3cret", 6, salt2, hash));
    /* Every bit of the stored hash matters. */
    hash[31] ^= 0x80;
    CHECK(!secret_verify("s3cret", 6, salt, hash));
    /* An empty secret hashes (and verifies) like any other. */
    CHECK_EQ_I64(secret_hash("", 0, salt, hash), 0);
    CHECK(secret_verify("", 0, salt, hash));
}

/* A new secret under the minimum is refused with a text naming it. */
TEST(size_min)
{
    char text[128];
    CHECK(secret_size_ok(12, SECRET_SIZE_MIN_DEFAULT, text, sizeof text));
    CHECK_STR(text, "");
    CHECK(!secret_size_ok(11, SECRET_SIZE_MIN_DEFAULT, text, sizeof text));
    CHECK_STR(text, "a new secret is at least 12 bytes long (this one is 11)");
    CHECK(!secret_size_ok(0, 1, text, sizeof text));
    CHECK_STR(text, "a new secret is at least 1 byte long (this one is 0)");
    CHECK_EQ_I64(SECRET_SIZE_MIN_DEFAULT, 12);
}

TEST(salts_differ)
{
    uint8_t a[SECRET_SALT_SIZE];
    uint8_t b[SECRET_SALT_SIZE];
    CHECK_EQ_I64(secret_salt_generate(a), 0);
    CHECK_EQ_I64(secret_salt_generate(b), 0);
    /* Equal by chance with probability 2^-128. */
    CHECK(memcmp(a, b, sizeof a) != 0);
    uint8_t zero[SECRET_SALT_SIZE] = {0};
    CHECK(memcmp(a, zero, sizeof a) != 0);
}

TEST_MAIN()
