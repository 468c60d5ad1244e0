/*
 * conns.c — the header deadline. libmicrohttpd's connection timeout counts
 * idle time only, so a client that trickles one header byte every few
 * seconds would hold its connection forever (slowloris). Here every
 * connection must send a whole request line and headers within
 * `deadline_s` of opening, or of the end of its previous request (an idle
 * keep-alive connection is closed after as long). A watcher thread looks
 * once a second and shuts down the socket of a connection past its
 * deadline; libmicrohttpd then sees the end of the connection and closes it
 * the normal way. Requests being served (uploads, event streams) are not
 * touched: their body has its own time limit.
 *
 * Also the per-address cap (--max-conns-per-ip): a connection opened while
 * as many others are open from the same client, as http_addr_key counts
 * clients (an IPv6 client by its /64), is shut down at once, before it is
 * read. libmicrohttpd's own per-IP option counts every IPv6 address apart,
 * so a caller holding a /64 would have no cap. The global cap is
 * libmicrohttpd's (server.c).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "internal.h"

typedef struct conn_rec {
    int fd;
    double since_ms;             /* opened, or the last request ended */
    bool in_request;             /* headers received, request not yet done */
    bool cut;                    /* shut down already */
    char key[HTTP_ADDR_KEY_MAX]; /* the client, as per-address limits count it */
    struct conn_rec *prev, *next;
} conn_rec;

struct http_conns {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    conn_rec *head;
    unsigned deadline_s;
    unsigned per_addr_max; /* 0: no per-address cap */
    size_t cut_total;
    bool stop;
    pthread_t thread;
    bool running;
};

static void *watch_main(void *arg)
{
    http_conns *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&c->cv, &c->lock, &ts);
        double now = rc_mono_ms();
        for (conn_rec *r = c->head; r; r = r->next) {
            if (r->in_request || r->cut || now - r->since_ms < c->deadline_s * 1000.0) continue;
            /* The record is unlinked (under this lock) before libmicrohttpd
             * closes the descriptor, so it is still this connection's. */
            shutdown(r->fd, SHUT_RDWR);
            r->cut = true;
            c->cut_total++;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

http_conns *http_conns_create(unsigned deadline_s, unsigned per_addr_max)
{
    http_conns *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->deadline_s = deadline_s;
    c->per_addr_max = per_addr_max;
    if (pthread_create(&c->thread, NULL, watch_main, c) == 0) c->running = true;
    return c;
}

void http_conns_destroy(http_conns *c)
{
    if (!c) return;
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->lock);
    if (c->running) pthread_join(c->thread, NULL);
    while (c->head) {
        conn_rec *r = c->head;
        c->head = r->next;
        free(r);
    }
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void http_conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode code)
{
    http_conns *c = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn_rec *r = ci ? calloc(1, sizeof *r) : NULL;
        *socket_context = r;
        if (!r) return;
        r->fd = ci->connect_fd;
        r->since_ms = rc_mono_ms();
        const union MHD_ConnectionInfo *ai =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        char ip[64], local[64];
        http_addr_text(ai ? ai->client_addr : NULL, ip);
        http_sock_text(r->fd, local);
        http_addr_key(ip, local, r->key); /* once: its requests read it (http_conns_key) */
        pthread_mutex_lock(&c->lock);
        if (c->per_addr_max) {
            unsigned open = 0;
            for (conn_rec *o = c->head; o && open < c->per_addr_max; o = o->next)
                if (!o->cut && strcmp(o->key, r->key) == 0) open++;
            if (open >= c->per_addr_max) {
                shutdown(r->fd, SHUT_RDWR); /* libmicrohttpd sees it end and closes it */
                r->cut = true;
            }
        }
        r->next = c->head;
        if (c->head) c->head->prev = r;
        c->head = r;
        pthread_mutex_unlock(&c->lock);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        conn_rec *r = *socket_context;
        *socket_context = NULL;
        if (!r) return;
        pthread_mutex_lock(&c->lock);
        if (r->prev)
            r->prev->next = r->next;
        else
            c->head = r->next;
        if (r->next) r->next->prev = r->prev;
        pthread_mutex_unlock(&c->lock);
        free(r);
    }
}

/* The connection's record, from its socket context. */
static conn_rec *rec_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void http_conns_request(http_conns *c, struct MHD_Connection *conn, bool started)
{
    conn_rec *r = c ? rec_of(conn) : NULL;
    if (!r) return;
    pthread_mutex_lock(&c->lock);
    r->in_request = started;
    if (!started) r->since_ms = rc_mono_ms();
    pthread_mutex_unlock(&c->lock);
}

size_t http_conns_cut(http_conns *c)
{
    if (!c) return 0;
    pthread_mutex_lock(&c->lock);
    size_t n = c->cut_total;
    pthread_mutex_unlock(&c->lock);
    return n;
}

void http_conns_key(http_conns *c, struct MHD_Connection *conn, const char *ip,
                    char out[HTTP_ADDR_KEY_MAX])
{
    /* Written before the record is listed, only read after: no lock. */
    const conn_rec *r = c ? rec_of(conn) : NULL;
    if (r)
        memcpy(out, r->key, HTTP_ADDR_KEY_MAX);
    else
        http_addr_key(ip, NULL, out); /* no record (out of memory): without the on-link rule */
}
