/*
 * bench_store.c — how fast the store takes attendance events and loads the
 * gallery, printed beside references measured in the same run:
 *   - events through store_event_insert (one durable commit each) against
 *     the same INSERT done with the bare sqlite3 API and the same PRAGMAs
 *     (the cost of our layer), and with synchronous=NORMAL (what durability
 *     against power loss costs);
 *   - the same with a webhook that queues a delivery per event (the outbox)
 *     beside it disabled;
 *   - att_record (slot lookup, de-duplication, write) per sighting;
 *   - store_gallery_load of N 512-d embeddings.
 * The backend is SQLite in a temporary directory, or PostgreSQL when
 * ROLLCALL_TEST_DB is set (bench/store.sh runs both).
 * Usage: bench_store [EVENTS] [FACES]
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/testdb.h"
#include "attendance/att.h"
#include "store/store.h"

static void die(const char *what, const rc_error *err)
{
    fprintf(stderr, "bench_store: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

/* Bare sqlite3 on the same database file (same table, indexes and foreign
 * key), the same INSERT, with the given synchronous mode. */
static double raw_sqlite(const char *path, int64_t person, const char *sync, int n)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) return -1;
    char pragmas[200];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; PRAGMA synchronous=%s", sync);
    sqlite3_exec(db, pragmas, NULL, NULL, NULL);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       "INSERT INTO events (person_id, ts_ms, last_seen_ms, kind, status, "
                       "confidence, sightings, slot_day, source, reason, created_ms, updated_ms) "
                       "VALUES (?, ?, ?, 'entry', 'outside', 0.9, 1, '2026-01-01', 'auto', '', "
                       "0, 0) RETURNING id",
                       -1, &st, NULL);
    double t0 = rc_mono_ms();
    for (int i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, person);
        sqlite3_bind_int64(st, 2, i + 1);
        sqlite3_bind_int64(st, 3, i + 1);
        while (sqlite3_step(st) == SQLITE_ROW) {
        }
        sqlite3_reset(st);
    }
    double ms = rc_mono_ms() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ms;
}

int main(int argc, char **argv)
{
    int nev = argc > 1 ? atoi(argv[1]) : 2000;
    int nfaces = argc > 2 ? atoi(argv[2]) : 5000;
    testdb t;
    store *s = testdb_open(&t);
    if (!s) return 1;
    rc_error err;
    const char *backend = store_backend_name(s);

    store_person p = {.active = 1};
    snprintf(p.name, sizeof p.name, "Bench");
    if (store_person_create(s, &p, &err)) die("person", &err);
    /* Interleaved rounds, so that disk noise from other processes falls on
     * our layer and the references alike. */
    double ours = 0, full = 0, normal = 0;
    int per = nev / 4 > 0 ? nev / 4 : 1;
    for (int round = 0; round < 4; round++) {
        double t0 = rc_mono_ms();
        for (int i = 0; i < per; i++) {
            store_event e = {.person_id = p.id, .ts_ms = i + 1, .confidence = 0.9};
            snprintf(e.kind, sizeof e.kind, "entry");
            snprintf(e.slot_day, sizeof e.slot_day, "2026-01-01");
            if (store_event_insert(s, &e, &err)) die("insert", &err);
        }
        ours += rc_mono_ms() - t0;
        if (!testdb_is_pg()) {
            full += raw_sqlite(t.url, p.id, "FULL", per);
            normal += raw_sqlite(t.url, p.id, "NORMAL", per);
        }
    }
    nev = per * 4;
    printf("%-8s store_event_insert     %6d events  %8.1f us/event  %8.0f events/s\n", backend, nev,
           ours * 1000 / nev, nev / ours * 1000);
    if (!testdb_is_pg()) {
        printf("%-8s reference: bare sqlite3, synchronous=FULL    %8.1f us/event  (our layer "
               "x%.2f)\n",
               backend, full * 1000 / nev, ours / full);
        printf("%-8s reference: bare sqlite3, synchronous=NORMAL  %8.1f us/event  (FULL costs "
               "x%.2f)\n",
               backend, normal * 1000 / nev, full / normal);
    }

    /* The webhook outbox: the same inserts with a webhook that wants them
     * (each event also queues its delivery in its transaction) beside the
     * webhook disabled (only the check that none is enabled), interleaved. */
    store_webhook w = {.enabled = 1};
    snprintf(w.url, sizeof w.url, "http://127.0.0.1:9/hook");
    snprintf(w.events, sizeof w.events, "entry");
    snprintf(w.secret, sizeof w.secret, "bench-secret-0123456789");
    if (store_webhook_create(s, &w, &err)) die("webhook", &err);
    double off = 0, on = 0;
    for (int round = 0; round < 8; round++) {
        w.enabled = round % 2;
        if (store_webhook_update(s, &w, &err)) die("webhook", &err);
        double t0 = rc_mono_ms();
        for (int i = 0; i < per; i++) {
            store_event e = {.person_id = p.id, .ts_ms = i + 1, .confidence = 0.9};
            snprintf(e.kind, sizeof e.kind, "entry");
            snprintf(e.slot_day, sizeof e.slot_day, "2026-01-01");
            if (store_event_insert(s, &e, &err)) die("insert", &err);
        }
        *(w.enabled ? &on : &off) += rc_mono_ms() - t0;
    }
    printf("%-8s store_event_insert, a webhook queues each  %8.1f us/event  (x%.2f of no webhook "
           "enabled: %.1f us/event)\n",
           backend, on * 1000 / nev, on / off, off * 1000 / nev);

    /* The rules: 50 people each seen every 40 s for a while on one camera. */
    if (store_setting_set(s, "timezone", "UTC", &err)) die("setting", &err);
    att *a;
    if (att_create(s, &a, &err)) die("att", &err);
    int64_t ids[50];
    for (int i = 0; i < 50; i++) {
        store_person q = {.active = 1};
        snprintf(q.name, sizeof q.name, "P%d", i);
        if (store_person_create(s, &q, &err)) die("person", &err);
        ids[i] = q.id;
        store_schedule sc = {.person_id = q.id, .dow = 4, .start_min = 480, .end_min = 600};
        if (store_schedule_create(s, &sc, &err)) die("schedule", &err);
    }
    int nsight = nev;
    int64_t base = (rc_days_from_civil(2026, 1, 1) * 86400 + 7 * 3600 + 50 * 60) * 1000;
    int kinds[5] = {0};
    double t0 = rc_mono_ms();
    for (int i = 0; i < nsight; i++) {
        att_sighting sg = {.person_id = ids[i % 50],
                           .ts_ms = base + (int64_t)(i / 50) * 40000,
                           .confidence = 0.8,
                           .liveness = 0.9};
        att_result r;
        if (att_record(a, &sg, NULL, 0, &r, &err)) die("record", &err);
        kinds[r.outcome]++;
    }
    double rules = rc_mono_ms() - t0;
    printf("%-8s att_record             %6d sightings %7.1f us/sighting (%d new, %d merged, %d "
           "moved)\n",
           backend, nsight, rules * 1000 / nsight, kinds[ATT_NEW], kinds[ATT_MERGED],
           kinds[ATT_MOVED]);
    att_destroy(a);

    float *emb = malloc(512 * sizeof *emb);
    for (int k = 0; k < 512; k++) emb[k] = (float)k / 512;
    store_face f = {.person_id = p.id, .dim = 512};
    snprintf(f.model, sizeof f.model, "fr_feature");
    t0 = rc_mono_ms();
    for (int i = 0; i < nfaces; i++)
        if (store_face_add(s, &f, emb, NULL, 0, &err)) die("face", &err);
    double add = rc_mono_ms() - t0;
    store_gallery g;
    t0 = rc_mono_ms();
    if (store_gallery_load(s, "fr_feature", &g, &err)) die("gallery", &err);
    double load = rc_mono_ms() - t0;
    printf("%-8s store_face_add         %6d faces   %8.1f us/face\n", backend, nfaces,
           add * 1000 / nfaces);
    printf("%-8s store_gallery_load     %6zu x %d    %8.1f ms  (%.0f MB/s of embeddings)\n",
           backend, g.count, g.dim, load, g.count * g.dim * 4.0 / 1e6 / (load / 1000));
    store_gallery_free(&g);
    free(emb);
    testdb_free(&t);
    return 0;
}
