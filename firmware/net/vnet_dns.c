/* vnet DNS client: A queries, retries, a TTL cache, CNAME chains. */
#include <string.h>

#include "vnet_internal.h"

typedef struct {
    char name[VNET_DNS_NAME_MAX];
    uint32_t ip;
    uint32_t expires;
    bool used;
} dns_entry_t;
static dns_entry_t cache[VNET_DNS_CACHE];

static struct {
    uint16_t port, id;
    bool done;
    int result;
    uint32_t server; /* host order, fixed for the query's lifetime */
    uint32_t ip, ttl;
} q;
static uint32_t explicit_server; /* host order; 0: the interface's */

uint16_t dns_port(void) { return q.port; }
uint32_t dns_server(void) { return q.server; }

void vnet_dns_set_server(vnet_ip_t server)
{
    uint32_t h = ip_h(server);
    if (h != explicit_server) {
        memset(cache, 0, sizeof cache);
    }
    explicit_server = h;
}

static bool name_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z') {
            x = (char)(x + 32);
        }
        if (y >= 'A' && y <= 'Z') {
            y = (char)(y + 32);
        }
        if (x != y) {
            return false;
        }
    }
    return *a == *b;
}

/* Skip a (possibly compressed) name; returns the offset after it, 0 on error. */
static size_t skip_name(const uint8_t *m, size_t len, size_t o)
{
    while (o < len) {
        uint8_t l = m[o];
        if (l == 0) {
            return o + 1;
        }
        if ((l & 0xC0U) == 0xC0U) {
            return o + 2 <= len ? o + 2 : 0;
        }
        if ((l & 0xC0U) != 0) {
            return 0;
        }
        o += 1U + l;
    }
    return 0;
}

void dns_input(const uint8_t *m, size_t len)
{
    if (q.done || len < 12U || rd16(m) != q.id || (m[2] & 0x80U) == 0) {
        return;
    }
    uint8_t rcode = m[3] & 0x0FU;
    if (rcode != 0) {
        q.done = true;
        q.result = VNET_ERR_DNS_FAILURE;
        return;
    }
    uint16_t qd = rd16(m + 4), an = rd16(m + 6);
    size_t o = 12;
    for (uint16_t i = 0; i < qd; i++) {
        o = skip_name(m, len, o);
        if (o == 0 || o + 4 > len) {
            return;
        }
        o += 4;
    }
    /* The A record may follow a CNAME chain; the first A in the answer
     * section belongs to the end of the chain we asked about. */
    for (uint16_t i = 0; i < an; i++) {
        o = skip_name(m, len, o);
        if (o == 0 || o + 10 > len) {
            break;
        }
        uint16_t type = rd16(m + o), cls = rd16(m + o + 2), rdlen = rd16(m + o + 8);
        uint32_t ttl = rd32(m + o + 4);
        o += 10;
        if (o + rdlen > len) {
            break;
        }
        if (type == 1 && cls == 1 && rdlen == 4) {
            q.ip = rd32(m + o);
            q.ttl = ttl;
            q.done = true;
            q.result = VNET_OK;
            return;
        }
        o += rdlen;
    }
    q.done = true;
    q.result = VNET_ERR_DNS_FAILURE; /* no A record */
}

static int send_query(const char *name)
{
    uint8_t *m = vnet_tx + TX_L4 + UDP_HLEN;
    wr16(m, q.id);
    wr16(m + 2, 0x0100); /* RD */
    wr16(m + 4, 1);
    wr16(m + 6, 0);
    wr16(m + 8, 0);
    wr16(m + 10, 0);
    size_t o = 12;
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > 63) {
            if (l == 0 && dot == NULL) {
                break;
            }
            return VNET_ERR_PARAMETER;
        }
        m[o++] = (uint8_t)l;
        memcpy(m + o, p, l);
        o += l;
        p += l;
        if (*p == '.') {
            p++;
        }
    }
    m[o++] = 0;
    wr16(m + o, 1);
    wr16(m + o + 2, 1);
    o += 4;
    vnet_stats.dns_queries++;
    int r = udp_output(0, q.port, q.server, 53, o);
    return r == VNET_ERR_WOULD_BLOCK ? VNET_OK : r;
}

int vnet_gethostbyname(const char *name, vnet_ip_t *out, uint32_t timeout_ms)
{
    if (name == NULL || out == NULL) {
        return VNET_ERR_PARAMETER;
    }
    if (vnet_parse_ip(name, out)) {
        return VNET_OK;
    }
    size_t nl = strlen(name);
    if (nl == 0 || nl > 253) {
        return VNET_ERR_PARAMETER;
    }
    uint32_t now = vnet_now_ms();
    for (int i = 0; i < VNET_DNS_CACHE; i++) {
        if (cache[i].used && name_eq(cache[i].name, name)) {
            if (time_due(now, cache[i].expires)) {
                cache[i].used = false;
            } else {
                *out = ip_n(cache[i].ip);
                return VNET_OK;
            }
        }
    }
    if (vnet_if.state != VNET_IF_UP) {
        return VNET_ERR_NO_CONNECTION;
    }
    uint32_t server = explicit_server != 0 ? explicit_server : vnet_if.dns;
    if (server == 0) {
        return VNET_ERR_DNS_FAILURE;
    }
    if (q.port != 0) {
        return VNET_ERR_BUSY; /* one query at a time (called from a callback?) */
    }
    q.server = server;
    q.port = sock_ephemeral(VNET_UDP);
    q.id = (uint16_t)vnet_rand();
    q.done = false;
    uint32_t start = now;
    uint32_t per_try = timeout_ms / VNET_DNS_TRIES;
    if (per_try < 200U) {
        per_try = 200U;
    }
    int result = VNET_ERR_DNS_FAILURE;
    bool timed_out = true;
    for (int t = 0; t < VNET_DNS_TRIES && !q.done; t++) {
        int r = send_query(name);
        if (r != VNET_OK) {
            result = r;
            timed_out = false;
            break;
        }
        uint32_t t0 = vnet_now_ms();
        while (!q.done && (uint32_t)(vnet_now_ms() - t0) < per_try &&
               (uint32_t)(vnet_now_ms() - start) < timeout_ms) {
            vnet_wait(10);
        }
        if ((uint32_t)(vnet_now_ms() - start) >= timeout_ms) {
            break;
        }
    }
    if (q.done) {
        timed_out = false;
        result = q.result;
    }
    q.port = 0;
    q.server = 0;
    if (timed_out) {
        return VNET_ERR_TIMEOUT;
    }
    if (result != VNET_OK) {
        return result;
    }
    *out = ip_n(q.ip);
    if (nl < VNET_DNS_NAME_MAX && q.ttl > 0) {
        dns_entry_t *e = &cache[0];
        for (int i = 0; i < VNET_DNS_CACHE; i++) {
            if (!cache[i].used) {
                e = &cache[i];
                break;
            }
            if ((int32_t)(cache[i].expires - e->expires) < 0) {
                e = &cache[i];
            }
        }
        uint32_t ttl = q.ttl > 86400U ? 86400U : q.ttl;
        memcpy(e->name, name, nl + 1);
        e->ip = q.ip;
        e->expires = vnet_now_ms() + ttl * 1000U;
        e->used = true;
    }
    return VNET_OK;
}
