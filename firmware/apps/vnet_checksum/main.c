/*
 * vnet_checksum: the stack's Internet checksum (csum_add/csum_fold, RFC 1071)
 * against a byte-by-byte reference, for every length 0..600 at every
 * alignment 0..3 of pseudo-random data, plus the RFC 1071 example and sums
 * carried across calls as the stack does (pseudo-header, header, payload).
 * No network: prints one line per check and exits 0 when all hold.
 */
#include <stdio.h>
#include <string.h>

#include "bsp.h"
#include "vnet_internal.h"

#define MAX_LEN 600

static uint8_t data[MAX_LEN + 8] __attribute__((aligned(4)));
static int failures;

static uint16_t reference(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += (i & 1U) ? p[i] : (uint32_t)p[i] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xFFFFU) + (sum >> 16);
    }
    return (uint16_t)sum;
}

static void result(const char *what, int ok)
{
    printf("vnet_checksum: %s %s\n", what, ok ? "ok" : "FAIL");
    if (!ok) {
        failures++;
    }
}

int main(void)
{
    printf("vnet_checksum: start\n");
    static const uint8_t rfc1071[] = {0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7};
    result("RFC 1071 example sums to 0xDDF2", csum_fold(csum_add(0, rfc1071, sizeof rfc1071)) == 0xDDF2);

    uint32_t x = 0x12345678;
    for (size_t i = 0; i < sizeof data; i++) {
        x = x * 1664525U + 1013904223U;
        data[i] = (uint8_t)(x >> 24);
    }
    int ok = 1;
    for (size_t off = 0; off < 4; off++) {
        for (size_t n = 0; n <= MAX_LEN; n++) {
            uint16_t want = reference(data + off, n), got = csum_fold(csum_add(0, data + off, n));
            if (got != want) {
                printf("vnet_checksum: offset %u length %u: 0x%04X, want 0x%04X\n", (unsigned)off, (unsigned)n,
                       got, want);
                ok = 0;
            }
        }
    }
    result("every length 0..600 at offsets 0..3", ok);

    ok = 1;
    for (size_t split = 0; split <= 64; split += 2) {
        uint32_t sum = csum_add(csum_add(0, data, split), data + split, MAX_LEN - split);
        ok &= csum_fold(sum) == reference(data, MAX_LEN);
    }
    memset(data, 0xFF, sizeof data);
    ok &= csum_fold(csum_add(0, data, MAX_LEN)) == reference(data, MAX_LEN);
    result("sums carried across calls, all-ones data", ok);
    printf("vnet_checksum: %s\n", failures == 0 ? "all ok" : "FAIL");
    printf("vnet_checksum: done\n");
    return failures == 0 ? 0 : 1;
}
