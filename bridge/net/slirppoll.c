/* slirppoll.c: libslirp's per-round bookkeeping callbacks without Python (bridge/net/slirp.py).
 *
 * A poll round (slirp_pollfds_fill, a zero-timeout poll, slirp_pollfds_poll) made slirp call
 * add_poll and get_revents once per host socket and clock_get_ns several times, each through a
 * ctypes trampoline. Here they are C over a pollfd array; sp_serve_round does the whole round.
 * slirp's clock is now_ns, which Python sets to the board's virtual time before every call into
 * slirp. The libslirp functions come as pointers (no libslirp header or link). */
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLIRP_POLL_IN (1 << 0)
#define SLIRP_POLL_OUT (1 << 1)
#define SLIRP_POLL_PRI (1 << 2)
#define SLIRP_POLL_ERR (1 << 3)
#define SLIRP_POLL_HUP (1 << 4)

typedef int (*AddPoll)(int fd, int events, void *opaque);
typedef int (*GetREvents)(int idx, void *opaque);
typedef void (*PollfdsFill)(void *slirp, uint32_t *timeout, AddPoll add_poll, void *opaque);
typedef void (*PollfdsPoll)(void *slirp, int select_error, GetREvents get_revents, void *opaque);

typedef struct {
    int32_t fd;
    int32_t events; /* slirp's SLIRP_POLL_* */
} SpEntry;

/* Mirrored by slirp_lib.PollShim (its size is checked at load). */
typedef struct {
    int64_t now_ns;        /* slirp's clock (Python keeps it the board's time) */
    void *fill;            /* slirp_pollfds_fill */
    void *pollfds_poll;    /* slirp_pollfds_poll */
    uint32_t timeout;      /* slirp_pollfds_fill's answer (ms) */
    int32_t n;             /* descriptors of the last round */
    int32_t changed;       /* ... differ from the round before (fd or events) */
    int32_t ready;         /* poll's answer in the last round (> 0: something is ready) */
    int32_t cap;           /* room in the arrays below */
    int32_t failed;        /* add_poll could not grow the arrays this round */
    SpEntry *cur;          /* this round's (fd, slirp events) */
    SpEntry *prev;         /* the round before's */
    int32_t prev_n;
    int32_t pad;
    struct pollfd *pfd;    /* cur as poll wants it */
} SpShim;

uint64_t sp_sizeof(void) { return sizeof(SpShim); }

int64_t sp_clock_get_ns(void *opaque) { return ((SpShim *)opaque)->now_ns; }

static int grow(SpShim *s) {
    int32_t cap = s->cap ? s->cap * 2 : 16;
    SpEntry *cur = realloc(s->cur, (size_t)cap * sizeof *cur);
    if (cur == NULL) return -1;
    s->cur = cur;
    SpEntry *prev = realloc(s->prev, (size_t)cap * sizeof *prev);
    if (prev == NULL) return -1;
    s->prev = prev;
    struct pollfd *pfd = realloc(s->pfd, (size_t)cap * sizeof *pfd);
    if (pfd == NULL) return -1;
    s->pfd = pfd;
    s->cap = cap;
    return 0;
}

static int add_poll(int fd, int events, void *opaque) {
    SpShim *s = opaque;
    if (s->n == s->cap && grow(s) < 0) {
        s->failed = 1;
        return -1;
    }
    int32_t i = s->n++;
    s->cur[i].fd = fd;
    s->cur[i].events = events;
    short want = 0;
    if (events & SLIRP_POLL_IN) want |= POLLIN;
    if (events & SLIRP_POLL_OUT) want |= POLLOUT;
    if (events & SLIRP_POLL_PRI) want |= POLLPRI;
    s->pfd[i].fd = fd;
    s->pfd[i].events = want;
    s->pfd[i].revents = 0;
    return i;
}

static int get_revents(int idx, void *opaque) {
    SpShim *s = opaque;
    if (idx < 0 || idx >= s->n) return 0;
    short got = s->pfd[idx].revents;
    int r = 0;
    if (got & POLLIN) r |= SLIRP_POLL_IN;
    if (got & POLLOUT) r |= SLIRP_POLL_OUT;
    if (got & POLLPRI) r |= SLIRP_POLL_PRI;
    if (got & (POLLERR | POLLNVAL)) r |= SLIRP_POLL_ERR;
    if (got & POLLHUP) r |= SLIRP_POLL_HUP;
    return r;
}

/* A descriptor slirp listed twice gets, in each entry, what it has for all the entries' events
 * together (as one poll registration per descriptor would answer). */
static void merge_duplicates(SpShim *s) {
    for (int32_t i = 0; i < s->n; i++) {
        short all = 0;
        for (int32_t k = 0; k < s->n; k++) {
            if (s->pfd[k].fd == s->pfd[i].fd) all |= s->pfd[k].revents;
        }
        s->pfd[i].revents = all;
    }
}

/* One full round. Returns 0, or -1 if add_poll ran out of memory (the round still ran). */
int sp_serve_round(SpShim *s, void *slirp) {
    s->n = 0;
    s->failed = 0;
    s->timeout = 0xFFFFFFFFu;
    ((PollfdsFill)s->fill)(slirp, &s->timeout, add_poll, s);
    s->changed = s->n != s->prev_n
                 || (s->n > 0 && memcmp(s->cur, s->prev, (size_t)s->n * sizeof *s->cur) != 0);
    if (s->changed) {
        if (s->n > 0) memcpy(s->prev, s->cur, (size_t)s->n * sizeof *s->cur);
        s->prev_n = s->n;
    }
    int ready = s->n > 0 ? poll(s->pfd, (nfds_t)s->n, 0) : 0;
    if (ready < 0) {  /* EINTR and the like: nothing is ready this round, as a failed check */
        for (int32_t i = 0; i < s->n; i++) s->pfd[i].revents = 0;
        ready = 0;
    }
    if (ready > 0) merge_duplicates(s);
    s->ready = ready;
    ((PollfdsPoll)s->pollfds_poll)(slirp, 0, get_revents, s);
    return s->failed ? -1 : 0;
}

void sp_free(SpShim *s) {
    free(s->cur);
    free(s->prev);
    free(s->pfd);
    s->cur = s->prev = NULL;
    s->pfd = NULL;
    s->n = s->prev_n = s->cap = 0;
}
