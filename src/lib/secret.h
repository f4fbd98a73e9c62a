/* Account secrets: how a secret becomes the salt and hash the state keeps.
 *
 * The state stores, per account, a 16-byte random salt and a 32-byte hash
 * (COMMAND_ACCOUNT_SET_SECRET); it never holds a secret. A gateway checks a
 * LOGON by hashing the secret it was sent with the account's salt and
 * comparing in constant time. The hash is PBKDF2-HMAC-SHA256 (RFC 8018)
 * with SECRET_ITERATIONS iterations, from OpenSSL: slow enough that a
 * stolen snapshot does not give up weak secrets cheaply (about 10 ms per
 * guess here), fast enough for a logon. The iteration count is part of
 * the stored format: changing it means a new command that records it.
 */
#ifndef NODOWN_LIB_SECRET_H
#define NODOWN_LIB_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECRET_SALT_SIZE 16u
#define SECRET_HASH_SIZE 32u
#define SECRET_ITERATIONS 20000u

/* The errors of these functions. Callers pass them on as core/result.h's
 * ERR_IO and ERR_USAGE, whose numbers they are (codec/command_codec.c
 * checks). */
enum secret_error {
    SECRET_ERROR_IO = -10,    /* OpenSSL or the kernel's random source failed */
    SECRET_ERROR_USAGE = -11, /* a secret too long to hash */
};

/* The shortest new secret accepted, by default: 12 bytes. A node's own
 * can be changed (serve --min-secret-length); the CLI refuses anything
 * shorter than this default before it sends a thing. */
#define SECRET_SIZE_MIN_DEFAULT 12u

/* Whether a new secret of size bytes is at least size_min long; if not,
 * text (of text_size bytes) says so and names the minimum. Only a new
 * secret is checked: a logon with an older, shorter one still works. */
bool secret_size_ok(size_t size, size_t size_min, char *text, size_t text_size);

/* hash = PBKDF2-HMAC-SHA256(secret, salt, SECRET_ITERATIONS, 32 bytes).
 * Returns 0, or SECRET_ERROR_USAGE for a secret over INT32_MAX bytes, or
 * SECRET_ERROR_IO when OpenSSL fails (out is then zeroed). */
int secret_hash(const void *secret, size_t size, const uint8_t salt[SECRET_SALT_SIZE],
                uint8_t out[SECRET_HASH_SIZE]);

/* The same with any iteration count, salt size and output size: what
 * secret_hash() runs, exposed so the tests can check it against the
 * published PBKDF2-HMAC-SHA256 vectors. */
int secret_pbkdf2_sha256(const void *secret, size_t size, const uint8_t *salt,
                         size_t salt_size, uint32_t iterations, uint8_t *out, size_t out_size);

/* Fills salt from the kernel's random source (getrandom). Returns 0 or
 * SECRET_ERROR_IO. */
int secret_salt_generate(uint8_t salt[SECRET_SALT_SIZE]);

/* Whether secret hashes to hash under salt. The comparison takes the same
 * time wherever the hashes differ (CRYPTO_memcmp). False when hashing
 * fails. */
bool secret_verify(const void *secret, size_t size, const uint8_t salt[SECRET_SALT_SIZE],
                   const uint8_t hash[SECRET_HASH_SIZE]);

#endif
