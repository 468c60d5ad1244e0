/*
 * auth.c — the pieces of access control that need no database: argon2id
 * password hashes (libsodium crypto_pwhash_str), random tokens, token hashes
 * for storage, constant-time comparison, role names, and the login limiter
 * that slows down and then locks out repeated failures per account and per
 * client address (an IPv6 client's address being its /64: http_addr_key).
 */
#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct {
    unsigned bit;
    const char *name;
} role_names[] = {
    {HTTP_ANON, "anonymous"},  {HTTP_ADMIN, "admin"},   {HTTP_MANAGER, "manager"},
    {HTTP_MEMBER, "member"},   {HTTP_DEVICE, "device"}, {HTTP_METRICS, "metrics"},
    {HTTP_AUDITOR, "auditor"},
};

unsigned http_role_bit(const char *name)
{
    if (!name) return 0;
    for (size_t i = 1; i < sizeof role_names / sizeof role_names[0]; i++)
        if (strcmp(role_names[i].name, name) == 0) return role_names[i].bit;
    return 0;
}

const char *http_role_name(unsigned bit)
{
    for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
        if (role_names[i].bit == bit) return role_names[i].name;
    return "unknown";
}

void http_random_hex(char *out, size_t n)
{
    unsigned char buf[64];
    assert(n <= sizeof buf);
    randombytes_buf(buf, n);
    sodium_bin2hex(out, 2 * n + 1, buf, n);
    sodium_memzero(buf, sizeof buf);
}

bool http_ct_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    /* Compare equal-length buffers so timing reveals only the length. */
    if (la != lb || la == 0) return false;
    return sodium_memcmp(a, b, la) == 0;
}

rc_status http_password_hash(const char *password, char *out, size_t out_size, rc_error *err)
{
    if (out_size < crypto_pwhash_STRBYTES)
        return rc_fail(err, RC_ERR_INTERNAL, "password hash buffer too small");
    if (sodium_init() < 0) return rc_fail(err, RC_ERR_INTERNAL, "libsodium failed to start");
    /* Interactive limits: ~64 MB and a fraction of a second per hash. */
    if (crypto_pwhash_str_alg(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return rc_fail(err, RC_ERR_NOMEM, "not enough memory to hash the password");
    return RC_OK;
}

bool http_password_verify(const char *hash, const char *password)
{
    if (!hash || !password || sodium_init() < 0) return false;
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void http_token_hash(const char *token, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(out, 65, h, sizeof h);
}

/* ---- client address keys ------------------------------------------------ */

void http_addr_text(const struct sockaddr *sa, char out[64])
{
    strcpy(out, "?");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, 64);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, 64);
}

void http_sock_text(int fd, char out[64])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        strcpy(out, "?");
        return;
    }
    http_addr_text((const struct sockaddr *)&ss, out);
}

void http_addr_key(const char *ip, const char *local, char out[HTTP_ADDR_KEY_MAX])
{
    struct in6_addr a, l;
    if (!ip || inet_pton(AF_INET6, ip, &a) != 1) {
        snprintf(out, HTTP_ADDR_KEY_MAX, "%s", ip ? ip : "?");
        return;
    }
    /* An IPv4 client as IPv6: mapped (a dual-stack socket) or through the
     * well-known NAT64 prefix 64:ff9b::/96 (an IPv6-only server behind
     * NAT64 sees every IPv4 client there): the IPv4 address. */
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
    if (IN6_IS_ADDR_V4MAPPED(&a) || memcmp(a.s6_addr, nat64, 12) == 0) {
        inet_ntop(AF_INET, &a.s6_addr[12], out, HTTP_ADDR_KEY_MAX);
        return;
    }
    /* On the site's own network, each address is one device: link-local
     * (fe80::/10), unique local (fc00::/7), and the server's own /64 (the
     * Wi-Fi the server is on): one student's failures must not close the
     * kiosk or the login for every phone there. No one off site can send
     * from those (the answers would not reach them). */
    bool on_site = (a.s6_addr[0] == 0xfe && (a.s6_addr[1] & 0xc0) == 0x80) ||
                   (a.s6_addr[0] & 0xfe) == 0xfc ||
                   (local && inet_pton(AF_INET6, local, &l) == 1 && !IN6_IS_ADDR_LOOPBACK(&l) &&
                    memcmp(a.s6_addr, l.s6_addr, 8) == 0);
    if (on_site) {
        snprintf(out, HTTP_ADDR_KEY_MAX, "%s", ip);
        return;
    }
    memset(&a.s6_addr[8], 0, 8); /* the interface half: the caller's to choose */
    char net[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &a, net, sizeof net);
    snprintf(out, HTTP_ADDR_KEY_MAX, "%s/64", net);
}

/* ---- login limiter ------------------------------------------------------ */

typedef struct {
    char key[160];
    unsigned failures;
    int64_t first_ms;  /* start of the counting window */
    int64_t locked_ms; /* locked until (0 = not locked) */
} limiter_slot;

struct http_limiter {
    pthread_mutex_t lock;
    unsigned max_failures, window_s, lockout_s;
    limiter_slot slots[HTTP_LIMITER_KEYS];
};

http_limiter *http_limiter_create(unsigned max_failures, unsigned window_s, unsigned lockout_s)
{
    http_limiter *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    pthread_mutex_init(&l->lock, NULL);
    l->max_failures = max_failures;
    l->window_s = window_s;
    l->lockout_s = lockout_s;
    return l;
}

void http_limiter_destroy(http_limiter *l)
{
    if (!l) return;
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* The failures of slot s that still count at now_ms (0 past its window). */
static unsigned live_failures(const http_limiter *l, const limiter_slot *s, int64_t now_ms)
{
    return now_ms - s->first_ms > (int64_t)l->window_s * 1000 ? 0 : s->failures;
}

/* The slot for key: an existing one, else (create) a new one in a free
 * slot or in place of the unlocked key with the fewest failures still
 * counting (the stalest of those), so that a flood of new keys pushes out
 * idle ones first and never a lock while there is another choice. With
 * every slot locked, the lock that ends first goes: refusing every new key
 * instead would let 4096 locked addresses keep the whole school from
 * logging in, and forgetting the oldest lock buys its owner a few tries for
 * thousands of locks made (each limit's own count of failures). Keys longer
 * than a slot holds are told apart by their first 159 bytes only. */
static limiter_slot *slot_for(http_limiter *l, const char *key, int64_t now_ms, bool create)
{
    limiter_slot *victim = NULL, *first_unlock = NULL;
    unsigned victim_fails = 0;
    const size_t cap = sizeof victim->key - 1;
    for (size_t i = 0; i < HTTP_LIMITER_KEYS; i++) {
        limiter_slot *s = &l->slots[i];
        if (!s->key[0]) {
            if (!victim || victim->key[0]) victim = s;
            continue;
        }
        if (strncmp(s->key, key, cap) == 0) return s;
        if (victim && !victim->key[0]) continue;
        if (s->locked_ms > now_ms) {
            if (!first_unlock || s->locked_ms < first_unlock->locked_ms) first_unlock = s;
            continue;
        }
        unsigned f = live_failures(l, s, now_ms);
        if (!victim || f < victim_fails || (f == victim_fails && s->first_ms < victim->first_ms)) {
            victim = s;
            victim_fails = f;
        }
    }
    if (!create) return NULL;
    if (!victim) victim = first_unlock;
    memset(victim, 0, sizeof *victim);
    snprintf(victim->key, sizeof victim->key, "%s", key);
    return victim;
}

unsigned http_limiter_wait(http_limiter *l, const char *key, int64_t now_ms)
{
    pthread_mutex_lock(&l->lock);
    limiter_slot *s = slot_for(l, key, now_ms, false);
    unsigned wait = 0;
    if (s && s->locked_ms > now_ms) wait = (unsigned)((s->locked_ms - now_ms + 999) / 1000);
    pthread_mutex_unlock(&l->lock);
    return wait;
}

/* Whether slot s has used up its failures; if so it is locked from now and
 * *wait receives the lock's seconds. Called with l->lock held. */
static bool lock_when_full(http_limiter *l, limiter_slot *s, int64_t now_ms, unsigned *wait)
{
    if (!l->max_failures || s->failures < l->max_failures) return false;
    s->locked_ms = now_ms + (int64_t)l->lockout_s * 1000;
    s->failures = 0;
    s->first_ms = now_ms;
    *wait = l->lockout_s ? l->lockout_s : 1;
    return true;
}

unsigned http_limiter_try(http_limiter *l, const char *key, int64_t now_ms)
{
    pthread_mutex_lock(&l->lock);
    limiter_slot *s = slot_for(l, key, now_ms, true);
    unsigned wait = 0;
    if (s->locked_ms > now_ms) {
        wait = (unsigned)((s->locked_ms - now_ms + 999) / 1000);
    } else {
        if (s->first_ms == 0 || now_ms - s->first_ms > (int64_t)l->window_s * 1000) {
            s->first_ms = now_ms;
            s->failures = 0;
        }
        if (!lock_when_full(l, s, now_ms, &wait)) s->failures++;
    }
    pthread_mutex_unlock(&l->lock);
    return wait;
}

unsigned http_limiter_lock_if_full(http_limiter *l, const char *key, int64_t now_ms)
{
    pthread_mutex_lock(&l->lock);
    limiter_slot *s = slot_for(l, key, now_ms, false);
    unsigned wait = 0;
    if (s && s->locked_ms <= now_ms) lock_when_full(l, s, now_ms, &wait);
    pthread_mutex_unlock(&l->lock);
    return wait;
}

void http_limiter_fail(http_limiter *l, const char *key, int64_t now_ms)
{
    /* A try counted as it failed: locked once it fills the limit. */
    if (!http_limiter_try(l, key, now_ms)) http_limiter_lock_if_full(l, key, now_ms);
}

void http_limiter_ok(http_limiter *l, const char *key)
{
    pthread_mutex_lock(&l->lock);
    limiter_slot *s = slot_for(l, key, 0, false);
    if (s) memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&l->lock);
}

unsigned http_limiter_take(http_limiter *l, const char *key, int64_t now_ms)
{
    pthread_mutex_lock(&l->lock);
    limiter_slot *s = slot_for(l, key, now_ms, false);
    unsigned n = 0;
    if (s) {
        if (now_ms - s->first_ms <= (int64_t)l->window_s * 1000) n = s->failures;
        memset(s, 0, sizeof *s);
    }
    pthread_mutex_unlock(&l->lock);
    return n;
}

void http_limiter_forgive(http_limiter *l, const char *key, unsigned n)
{
    pthread_mutex_lock(&l->lock);
    limiter_slot *s = slot_for(l, key, 0, false);
    if (s) s->failures = s->failures > n ? s->failures - n : 0;
    pthread_mutex_unlock(&l->lock);
}
