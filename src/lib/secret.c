/* Secret hashing with OpenSSL's PBKDF2 (see secret.h). */
#include "lib/secret.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

int secret_pbkdf2_sha256(const void *secret, size_t size, const uint8_t *salt,
                         size_t salt_size, uint32_t iterations, uint8_t *out, size_t out_size)
{
    assert(iterations >= 1);
    assert(out_size >= 1);
    if (size > INT_MAX || salt_size > INT_MAX || iterations > INT_MAX || out_size > INT_MAX)
        return SECRET_ERROR_USAGE;
    /* OpenSSL takes a char pointer and reads no byte when the size is 0;
     * "" keeps it from ever seeing a NULL. */
    const char *password = size == 0 ? "" : secret;
    int ok = PKCS5_PBKDF2_HMAC(password, (int)size, salt, (int)salt_size, (int)iterations,
                               EVP_sha256(), (int)out_size, out);
    if (ok != 1) {
        memset(out, 0, out_size);
        return SECRET_ERROR_IO;
    }
    return 0;
}

int secret_hash(const void *secret, size_t size, const uint8_t salt[SECRET_SALT_SIZE],
                uint8_t out[SECRET_HASH_SIZE])
{
    return secret_pbkdf2_sha256(secret, size, salt, SECRET_SALT_SIZE, SECRET_ITERATIONS, out,
                                SECRET_HASH_SIZE);
}

int secret_salt_generate(uint8_t salt[SECRET_SALT_SIZE])
{
    size_t filled = 0;
    /* getrandom() may return fewer bytes, or EINTR, only for requests
     * over 256 bytes or before the pool is ready: loop anyway. */
    while (filled < SECRET_SALT_SIZE) {
        ssize_t got = getrandom(salt + filled, SECRET_SALT_SIZE - filled, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return SECRET_ERROR_IO;
        }
        filled += (size_t)got;
    }
    assert(filled == SECRET_SALT_SIZE);
    return 0;
}

bool secret_verify(const void *secret, size_t size, const uint8_t salt[SECRET_SALT_SIZE],
                   const uint8_t hash[SECRET_HASH_SIZE])
{
    uint8_t computed[SECRET_HASH_SIZE];
    if (secret_hash(secret, size, salt, computed) != 0)
        return false;
    return CRYPTO_memcmp(computed, hash, SECRET_HASH_SIZE) == 0;
}

bool secret_size_ok(size_t size, size_t size_min, char *text, size_t text_size)
{
    assert(text_size > 0);
    text[0] = '\0';
    if (size >= size_min)
        return true;
    snprintf(text, text_size, "a new secret is at least %zu byte%s long (this one is %zu)",
             size_min, size_min == 1 ? "" : "s", size);
    return false;
}
